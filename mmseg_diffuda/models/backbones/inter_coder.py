"""ICCLD's inter-coder connection: VAE-encoder features carried into the UNet decoder taps.

ICCLD (Yu et al., "Adversarially Domain-adaptive Latent Diffusion for Unsupervised Semantic
Segmentation", CVPR 2025 Workshops, arXiv 2412.16859) connects the encoder of its latent
diffusion segmenter with the decoder "to enhance contextual understanding and preserve fine
details". No code is public; this file is our interpretation, every choice documented here
and in ``docs/methods/iccld.md``:

- **Which encoder**: the image coder of the latent diffusion model, i.e. SD's frozen VAE
  encoder, whose ``down_blocks`` see the image at strides 2, 4, 8 (and 8 again for the last
  block, which has no downsampler). They hold the fine image detail that the 8x latent loses.
- **Where it goes**: into the UNet *decoder* features that the segmentation head consumes
  (the up-block taps of :class:`StableDiffusionBackbone`, strides 8/16/32). Encoder levels at
  a tapped stride are fused into that tap; encoder levels finer than the finest tap extend the
  decoder U-Net style (Ronneberger et al., MICCAI 2015): the next coarser fused feature is
  upsampled and fused with the encoder feature, giving new fine levels (stride 4, 2). The
  UNet's own computation is left untouched (the pretrained denoiser is not rewired).
- **How it is fused**: a fusion module per level, :class:`ConcatConvFusion` (concatenate +
  3x3 conv, the U-Net decoder) or :class:`ProjectAddFusion` (1x1 projection added to the
  decoder feature, zero-initialised like ControlNet's zero convolutions, Zhang et al., ICCV
  2023, so training starts from the plain model).

``inter_coder=None`` builds no extra module and returns exactly the features of
:class:`StableDiffusionBackbone` (same parameters, same random initialisation order).
"""
from contextlib import contextmanager
from functools import partial
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, ModuleList
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor, nn

from .stable_diffusion import Extras, StableDiffusionBackbone


@MODELS.register_module()
class ConcatConvFusion(BaseModule):
    """Fuse an encoder feature into a decoder feature by concatenation and a 3x3 conv.

    ``out = ReLU(Norm(Conv3x3([dec, enc])))`` with ``decoder_channels`` outputs: the skip
    connection of a U-Net decoder (Ronneberger et al., MICCAI 2015).

    Args:
        decoder_channels (int): Channels of the decoder feature (and of the output).
        encoder_channels (int): Channels of the encoder feature.
        norm_cfg (dict): Norm of the conv. Defaults to GroupNorm(32) (SD's norm).
        act_cfg (dict): Activation. Defaults to ReLU.
    """

    def __init__(self,
                 decoder_channels: int,
                 encoder_channels: int,
                 norm_cfg: ConfigType = dict(type='GN', num_groups=32, requires_grad=True),
                 act_cfg: ConfigType = dict(type='ReLU')) -> None:
        super().__init__()
        self.conv = ConvModule(decoder_channels + encoder_channels, decoder_channels, 3,
                               padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, decoder: Tensor, encoder: Tensor) -> Tensor:
        """Fuse two (B, C, H, W) maps of the same size into (B, decoder_channels, H, W)."""
        return self.conv(torch.cat([decoder, encoder.to(decoder.dtype)], dim=1))


@MODELS.register_module()
class ProjectAddFusion(BaseModule):
    """Fuse an encoder feature into a decoder feature by a zero-initialised 1x1 projection.

    ``out = dec + Conv1x1(enc)``; the projection starts at zero (ControlNet's zero convolution,
    Zhang et al., ICCV 2023), so a new connection leaves the decoder feature unchanged until
    training moves it.

    Args:
        decoder_channels (int): Channels of the decoder feature (and of the output).
        encoder_channels (int): Channels of the encoder feature.
    """

    def __init__(self, decoder_channels: int, encoder_channels: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(encoder_channels, decoder_channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, decoder: Tensor, encoder: Tensor) -> Tensor:
        """Fuse two (B, C, H, W) maps of the same size into (B, decoder_channels, H, W)."""
        return decoder + self.proj(encoder.to(decoder.dtype))


def connection_layout(encoder_channels: Sequence[int], encoder_strides: Sequence[int],
                      decoder_channels: Sequence[int],
                      decoder_strides: Sequence[int]) -> Dict[int, int]:
    """Output channels per output stride of an :class:`InterCoderConnection` (checked).

    Tapped strides keep the decoder channels; an extension level (an encoder stride finer than
    every decoder stride) takes the channels of the next coarser level it is upsampled from.

    Args:
        encoder_channels (Sequence[int]): Channels of the connected encoder levels.
        encoder_strides (Sequence[int]): Their strides (distinct).
        decoder_channels (Sequence[int]): Channels of the decoder taps.
        decoder_strides (Sequence[int]): Strides of the decoder taps.

    Returns:
        dict[int, int]: ``{stride: channels}`` of every output level.
    """
    if len(set(encoder_strides)) != len(encoder_strides) or \
            len(encoder_strides) != len(encoder_channels):
        raise ValueError(f'InterCoderConnection: one channel count per encoder level and '
                         f'distinct strides are needed, got strides {list(encoder_strides)} and '
                         f'channels {list(encoder_channels)}; choose one VAE block per stride.')
    finest = min(decoder_strides)
    for stride in encoder_strides:
        if stride not in decoder_strides and stride > finest:
            raise ValueError(f'InterCoderConnection: encoder stride {stride} is neither a '
                             f'decoder stride {list(decoder_strides)} nor finer than {finest}.')
    channels = dict(zip(decoder_strides, decoder_channels))
    for stride in sorted((s for s in encoder_strides if s < finest), reverse=True):
        channels[stride] = channels[min(s for s in channels if s > stride)]
    return channels


class InterCoderConnection(BaseModule):
    """Fuses encoder levels into decoder levels and extends the decoder to finer strides.

    .. code:: text

        decoder taps d_8, d_16, d_32 (UNet up-blocks), encoder levels e_s (VAE down-blocks)
        fused:  f_s = fuse_s(d_s, e_s)                    for e_s at a tapped stride s
                f_s = d_s                                 for taps without an encoder level
        extended (finest tap stride s0, encoder strides s < s0, coarse to fine):
                f_s = fuse_s(up(f_next coarser), e_s)     bilinear upsampling to e_s's size
        output: [f_s for every stride, finest first]

    Args:
        encoder_channels (Sequence[int]): Channels of the connected encoder levels.
        encoder_strides (Sequence[int]): Their strides (distinct).
        decoder_channels (Sequence[int]): Channels of the decoder taps, finest first.
        decoder_strides (Sequence[int]): Strides of the decoder taps, finest first.
        fusion (dict): Config of the fusion module of every connection, built with
            ``decoder_channels`` and ``encoder_channels`` added (``ConcatConvFusion`` or
            ``ProjectAddFusion``).
    """

    def __init__(self, encoder_channels: Sequence[int], encoder_strides: Sequence[int],
                 decoder_channels: Sequence[int], decoder_strides: Sequence[int],
                 fusion: ConfigType) -> None:
        super().__init__()
        channels = connection_layout(encoder_channels, encoder_strides, decoder_channels,
                                     decoder_strides)
        self.out_strides = sorted(channels)
        self.out_channels = [channels[s] for s in self.out_strides]
        self.encoder_strides = list(encoder_strides)
        self.decoder_strides = list(decoder_strides)
        enc = dict(zip(encoder_strides, encoder_channels))
        self.fused_strides = sorted(enc)
        self.fusions = ModuleList([
            MODELS.build(dict(fusion, decoder_channels=channels[s], encoder_channels=enc[s]))
            for s in self.fused_strides
        ])

    def forward(self, encoder: Sequence[Tensor], decoder: Sequence[Tensor]) -> List[Tensor]:
        """Fused and extended features, finest first.

        Args:
            encoder (Sequence[Tensor]): Encoder levels, in the order of ``encoder_strides``.
            decoder (Sequence[Tensor]): Decoder taps, in the order of ``decoder_strides``.

        Returns:
            list[Tensor]: One map per stride of ``out_strides``.
        """
        enc = dict(zip(self.encoder_strides, encoder))
        out: Dict[int, Tensor] = dict(zip(self.decoder_strides, decoder))
        fusions = dict(zip(self.fused_strides, self.fusions))
        for stride in sorted(fusions, reverse=True):  # coarse to fine: extensions need f_next
            if stride in out:
                out[stride] = fusions[stride](out[stride], enc[stride])
            else:
                coarser = out[min(s for s in out if s > stride)]
                up = F.interpolate(coarser, size=enc[stride].shape[2:], mode='bilinear',
                                   align_corners=False)
                out[stride] = fusions[stride](up, enc[stride])
        return [out[s] for s in self.out_strides]


@MODELS.register_module()
class InterCoderDiffusionBackbone(StableDiffusionBackbone):
    """:class:`StableDiffusionBackbone` with ICCLD's inter-coder connection and training noise.

    One forward (differences to the parent in brackets):

    .. code:: text

        z, [e_s]  = VAE encoder(x)      [forward hooks on vae.encoder.down_blocks[i]]
        t         = [U{lo..hi} per image in training if train_timestep_range is set]
        taps      = UNet(z_t, t, c) up-block outputs (strides 8, 16, 32)
        levels    = [inter_coder(e, taps)]  or taps when inter_coder is None
        out       = [proj(s0)] + [proj(level) for level in levels]

    ``forward_with_extras`` adds ``unet_features`` (the raw UNet taps of the same pass, in the
    graph: the discriminator input of ICCLD's adversarial alignment) and ``encoder_features``
    (the connected VAE levels, no gradient; None without inter-coder) to the parent's extras.

    Choices (see ``docs/methods/iccld.md``):

    - ``train_timestep_range=(lo, hi)``: in training mode, a pass without explicit timesteps
      draws one timestep per image uniformly from ``{lo, ..., hi}``, so the segmenter and the
      adversarial alignment see latents along the forward diffusion process ("during the
      latent diffusion process"); evaluation (and any explicit ``timesteps``) uses the given
      or default timestep (0, as MADM). None keeps MADM's fixed timestep.
    - The VAE levels come from the same frozen, no-grad encoder pass as the latent (no second
      encoder run).

    Args:
        inter_coder (dict, optional): ``dict(encoder_levels=(1, 2), fusion=dict(type=
            'ConcatConvFusion', ...))``: indices of ``vae.encoder.down_blocks`` whose outputs
            are connected (SD: 0 -> 128 ch / stride 2, 1 -> 256 / 4, 2 -> 512 / 8,
            3 -> 512 / 8) and the fusion module. None: the plain backbone. Defaults to None.
        train_timestep_range (tuple[int, int], optional): Inclusive range of training
            timesteps; None: ``default_timestep``. Defaults to None.
        **kwargs: Arguments of :class:`StableDiffusionBackbone` (``projection_dims`` has one
            entry per output level, s0 first, then the ``out_strides`` of the connection).
    """

    def __init__(self,
                 inter_coder: OptConfigType = None,
                 train_timestep_range: Optional[Tuple[int, int]] = None,
                 **kwargs) -> None:
        # Read by feature_channels/strides while the parent builds the projections.
        self._inter_coder_cfg = None if inter_coder is None else dict(inter_coder)
        super().__init__(**kwargs)
        self._pass: Optional[dict] = None
        self.train_timestep_range = self._check_range(train_timestep_range)
        self.inter_coder = None
        if inter_coder is not None:
            self.inter_coder = self._build_inter_coder()

    # ------------------------------------------------------------------ construction
    def _check_range(self, value: Optional[Tuple[int, int]]) -> Optional[Tuple[int, int]]:
        if value is None:
            return None
        low, high = (int(v) for v in value)
        num_steps = self.scheduler.config.num_train_timesteps
        if not 0 <= low <= high < num_steps:
            raise ValueError(f'train_timestep_range must satisfy 0 <= lo <= hi < {num_steps}, '
                             f'got {tuple(value)}.')
        return low, high

    @property
    def encoder_levels(self) -> List[int]:
        """Indices of the connected ``vae.encoder.down_blocks`` (empty without inter-coder)."""
        if self._inter_coder_cfg is None:
            return []
        levels = [int(i) for i in self._inter_coder_cfg.get('encoder_levels', ())]
        num_blocks = len(self.vae.encoder.down_blocks)
        if not levels or any(not 0 <= i < num_blocks for i in levels):
            raise ValueError(f'inter_coder.encoder_levels must be non-empty indices of the '
                             f'{num_blocks} VAE encoder down-blocks, got {levels}.')
        return levels

    def encoder_level_strides(self) -> List[int]:
        """Stride of each connected VAE level (the last block has no downsampler)."""
        last = len(self.vae.encoder.down_blocks) - 1
        return [2**min(i + 1, last) for i in self.encoder_levels]

    def encoder_level_channels(self) -> List[int]:
        """Channels of each connected VAE level."""
        return [self.vae.config.block_out_channels[i] for i in self.encoder_levels]

    def _connection_shape(self) -> Tuple[List[int], List[int]]:
        """Output channels and strides of the UNet levels after the connection."""
        tapped = list(self.unet.config.block_out_channels[:3])
        tap_strides = [self.vae_scale * 2**i for i in range(3)]
        if self._inter_coder_cfg is None:
            return tapped, tap_strides
        channels = connection_layout(self.encoder_level_channels(),
                                     self.encoder_level_strides(), tapped, tap_strides)
        return [channels[s] for s in sorted(channels)], sorted(channels)

    def _build_inter_coder(self) -> InterCoderConnection:
        unknown = set(self._inter_coder_cfg) - {'encoder_levels', 'fusion'}
        if unknown:
            raise KeyError(f'inter_coder takes encoder_levels and fusion, got unknown keys '
                           f'{sorted(unknown)}.')
        return InterCoderConnection(
            self.encoder_level_channels(), self.encoder_level_strides(),
            list(self.unet.config.block_out_channels[:3]),
            [self.vae_scale * 2**i for i in range(3)],
            fusion=self._inter_coder_cfg.get('fusion', dict(type='ConcatConvFusion')))

    @property
    def feature_channels(self) -> List[int]:
        """Channels of the raw features before projection, in output order."""
        return ([self.vae.config.out_channels] if self.use_decoded_feature else []) + \
            self._connection_shape()[0]

    @property
    def strides(self) -> List[int]:
        """Stride of each output feature relative to the (resized) input image."""
        return ([1] if self.use_decoded_feature else []) + self._connection_shape()[1]

    # ------------------------------------------------------------------ forward
    def forward_with_extras(self, inputs: Tensor,
                            timesteps: Union[int, Tensor, None] = None
                            ) -> Tuple[List[Tensor], Extras]:
        """Features plus the extras of the parent, ``unet_features`` and ``encoder_features``.

        The parent's pipeline runs unchanged; :meth:`encode_latent` and
        :meth:`unet_features` read and fill a per-call record that exists only during this
        call (so no state is kept between calls).

        Args:
            inputs (Tensor): Images in [-1, 1] (B, 3, H, W).
            timesteps (int | Tensor, optional): As in :meth:`StableDiffusionBackbone.forward`;
                None draws training timesteps (see the class docstring).

        Returns:
            tuple[list[Tensor], dict]: The features and the extras.
        """
        with self._recording() as record:
            feats, extras = super().forward_with_extras(inputs, timesteps)
        extras.update(unet_features=record['taps'], encoder_features=record.get('encoder'))
        return feats, extras

    @contextmanager
    def _recording(self) -> Iterator[dict]:
        self._pass = dict()
        try:
            yield self._pass
        finally:
            self._pass = None

    def encode_latent(self, images: Tensor) -> Tensor:
        """The parent's latent; inside a forward, also records the connected VAE levels."""
        if self._pass is None or self.inter_coder is None:
            return super().encode_latent(images)
        with self.vae_encoder_taps() as taps:
            latent = super().encode_latent(images)
        self._pass['encoder'] = [taps[i] for i in self.encoder_levels]
        return latent

    @contextmanager
    def vae_encoder_taps(self) -> Iterator[Dict[int, Tensor]]:
        """Forward hooks on the connected VAE down-blocks for one call, removed on exit.

        Yields:
            dict[int, Tensor]: Filled during the VAE call, keyed by down-block index.
        """
        taps: Dict[int, Tensor] = {}
        handles = [
            self.vae.encoder.down_blocks[i].register_forward_hook(partial(_store, taps, i))
            for i in self.encoder_levels
        ]
        try:
            yield taps
        finally:
            for handle in handles:
                handle.remove()

    def unet_features(self, noisy_latent: Tensor,
                      timesteps: Tensor) -> Tuple[List[Tensor], Tensor]:
        """The parent's taps; inside a forward, fused by the inter-coder connection.

        Args:
            noisy_latent (Tensor): (B, C, h, w).
            timesteps (Tensor): (B,) timesteps.

        Returns:
            tuple[list[Tensor], Tensor]: Levels finest first and the UNet output latent.
        """
        taps, unet_latent = super().unet_features(noisy_latent, timesteps)
        if self._pass is None:
            return taps, unet_latent
        self._pass['taps'] = taps
        if self.inter_coder is None:
            return taps, unet_latent
        return self.inter_coder(self._pass['encoder'], taps), unet_latent

    def timestep_tensor(self, timesteps: Union[int, Tensor, None], batch_size: int,
                        device: torch.device) -> Tensor:
        """Timesteps of a pass; in training without explicit ones, drawn per image.

        Args:
            timesteps (int | Tensor, optional): One value or (B,) values; None: drawn from
                ``train_timestep_range`` in training mode, else ``default_timestep``.
            batch_size (int): B.
            device (torch.device): Device of the result.

        Returns:
            Tensor: (B,) long timesteps.
        """
        if timesteps is None and self.training and self.train_timestep_range is not None:
            low, high = self.train_timestep_range
            timesteps = torch.randint(low, high + 1, (batch_size, ))
        return super().timestep_tensor(timesteps, batch_size, device)


def _store(taps: Dict[int, Tensor], index: int, module: nn.Module, args: tuple,
           output: Tensor) -> None:
    """Forward hook: keep the block output."""
    taps[index] = output
