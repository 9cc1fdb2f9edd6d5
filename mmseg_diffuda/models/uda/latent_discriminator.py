"""Domain discriminator over UNet latent features, conditioned on the diffusion timestep.

ICCLD (Yu et al., CVPR 2025 Workshops, arXiv 2412.16859) aligns "latent feature distributions
across source, mixed and target domains during the latent diffusion process" adversarially;
its discriminator is not described. This one combines two published designs:

- a fully convolutional, patch-level domain classifier with LeakyReLU(0.2), as the
  discriminators of AdaptSegNet (Tsai et al., CVPR 2018, official ``model/discriminator.py``,
  ``FCDiscriminator``) and ADVENT (Vu et al., CVPR 2019), here with 3x3 stride-1 convolutions
  because its input is already at stride 32 (16x16 for a 512x512 crop), where AdaptSegNet's
  five 4x4 stride-2 convolutions would shrink the map below one pixel, and with one logit per
  domain (multi-class, three domains) instead of one binary logit;
- conditioning on the diffusion timestep, as the timestep-dependent discriminator of
  Diffusion-GAN (Wang et al., ICLR 2023): features of latents noised at different timesteps
  are distributed differently, so the discriminator compares like with like.
"""
from typing import Optional, Sequence

import torch
from diffusers.models.embeddings import get_timestep_embedding
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class LatentDomainDiscriminator(BaseModule):
    """Patch-level domain classifier of (B, C, h, w) features at timesteps t.

    .. code:: text

        h = LeakyReLU(Conv3x3(x) + Linear(sinusoidal(t)))       (time term: if timestep_dim)
        h = LeakyReLU(Conv3x3(h))                                 for each further width
        logits = Conv1x1(h)                                       (B, num_domains, h, w)

    Args:
        in_channels (int): Channels of the input features.
        num_domains (int): Number of domain classes. Defaults to 3 (source, mixed, target).
        channels (Sequence[int]): Widths of the 3x3 layers. Defaults to (256, 256).
        timestep_dim (int, optional): Width of the sinusoidal timestep embedding; None: no
            timestep conditioning. Defaults to 128.
        negative_slope (float): LeakyReLU slope (AdaptSegNet: 0.2). Defaults to 0.2.
        init_cfg (dict, optional): Initialisation config. Defaults to None (PyTorch's).
    """

    def __init__(self,
                 in_channels: int,
                 num_domains: int = 3,
                 channels: Sequence[int] = (256, 256),
                 timestep_dim: Optional[int] = 128,
                 negative_slope: float = 0.2,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_domains < 2 or not channels:
            raise ValueError('LatentDomainDiscriminator needs num_domains >= 2 and at least '
                             f'one layer width, got {num_domains} and {list(channels)}.')
        self.num_domains = num_domains
        self.timestep_dim = timestep_dim
        widths = [in_channels, *channels]
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 3, padding=1) for c_in, c_out in zip(widths, widths[1:]))
        self.time_proj = None if timestep_dim is None else nn.Linear(timestep_dim, channels[0])
        self.act = nn.LeakyReLU(negative_slope)
        self.classifier = nn.Conv2d(channels[-1], num_domains, 1)

    def forward(self, features: Tensor, timesteps: Optional[Tensor] = None) -> Tensor:
        """Domain logits at every position.

        Args:
            features (Tensor): (B, C, h, w).
            timesteps (Tensor, optional): (B,) diffusion timesteps of the features (required
                with ``timestep_dim``).

        Returns:
            Tensor: Logits (B, num_domains, h, w).
        """
        x = self.convs[0](features)
        if self.time_proj is not None:
            if timesteps is None:
                raise ValueError('LatentDomainDiscriminator: timesteps are required when '
                                 'timestep_dim is set (timestep-conditioned discriminator).')
            embedding = get_timestep_embedding(timesteps.reshape(-1), self.timestep_dim)
            x = x + self.time_proj(embedding.to(x.dtype))[:, :, None, None]
        x = self.act(x)
        for conv in self.convs[1:]:
            x = self.act(conv(x))
        return self.classifier(x)


def domain_confusion_loss(logits: Tensor) -> Tensor:
    """Cross-entropy of the domain logits against the uniform distribution.

    ``mean over positions of -1/K sum_k log softmax(logits)_k``: minimal when every domain is
    equally likely (Tzeng et al., "Simultaneous Deep Transfer Across Domains and Tasks",
    ICCV 2015, domain confusion loss).

    Args:
        logits (Tensor): (B, K, h, w) domain logits.

    Returns:
        Tensor: Scalar loss.
    """
    return -torch.log_softmax(logits.float(), dim=1).mean(dim=1).mean()


def domain_accuracy(logits: Tensor, labels: Tensor) -> Tensor:
    """Share of positions whose most likely domain is the true one.

    Args:
        logits (Tensor): (B, K, h, w) domain logits.
        labels (Tensor): (B, h, w) domain indices.

    Returns:
        Tensor: Scalar accuracy in [0, 1].
    """
    return (logits.argmax(dim=1) == labels).float().mean()
