"""LC-MSM's language-conditioned head: DAFormer fusion correlated with class text embeddings.

LC-MSM (Kim et al., Pattern Recognition 2024), official
``mmseg/models/decode_heads/lc_msm_head.py`` (``LCMSMHead``, ``bottleneck_block``,
``depthwise_conv``) and ``configs/_base_/models/lc_msm{,_sepaspp}.py``.
"""
from typing import Tuple

import torch
from mmseg.registry import MODELS
from mmseg.utils import ConfigType
from torch import Tensor, nn

from .daformer_head import DAFormerHead


class SimilarityBottleneck(nn.Module):
    """LC-MSM's "bottleneck block" over the class-similarity maps.

    ``y = conv(x_k) + max_j x_j`` for every map ``k``: one 1 -> 1 channel 3x3 convolution (with
    bias) shared by all maps, plus the channel-wise maximum as a residual; a ReLU follows when
    ``activate`` is True (official ``bottleneck_block`` with ``arch_option=1``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, kernel_size=3, padding=1)

    def forward(self, maps: Tensor, activate: bool = True) -> Tensor:
        """Apply the block to (B, K, H, W) similarity maps.

        Args:
            maps (Tensor): Similarity maps (B, K, H, W).
            activate (bool): Apply the ReLU. Defaults to True.

        Returns:
            Tensor: Maps of the same shape.
        """
        batch_size, num_maps, height, width = maps.shape
        per_map = self.conv(maps.reshape(batch_size * num_maps, 1, height, width))
        out = per_map.reshape(maps.shape) + maps.max(dim=1, keepdim=True)[0]
        return torch.relu(out) if activate else out


@MODELS.register_module()
class LanguageConditionedHead(DAFormerHead):
    """LC-MSM's vision-language head: pixel features correlated with class text embeddings.

    .. code:: text

        encoder levels -> DAFormer embedding + fusion -> F (B, C, h, w)
        text embeddings E (K, D), frozen -> trainable Linear(D, C) -> T (K, C)
        S = (1 / tau) * <F / |F|, T / |T|>            (B, K, h, w) class-similarity maps
        S <- bottleneck(S) block_depth times, one shared block, ReLU on all but the last
        logits = cls_seg([F, S])                      dropout + 1x1 conv over C + K channels

    Faithful to the official ``LCMSMHead``: ``tau = 0.07`` gives the fixed scale
    ``exp(log(1 / 0.07)) = 14.29`` (a constant, not a learnable CLIP scale, not in the state
    dict); the spatial block's weights are shared across ``block_depth``; the text projection is
    ``nn.Linear(1024, 512)`` for ViT-H-14 and 512 head channels. The official projection is
    ``text_embed_net`` of the UDA wrapper; here it is this head's ``text_projection`` so that
    every pass that trains it runs through the student (one DDP forward per backward); the
    LC-MSM segmentor lets the teacher use the student's projection, as officially
    (:class:`LCMSM`, ``share_text_projection``).

    Args:
        text_encoder (ConfigType): Config of the frozen class embeddings, e.g.
            ``dict(type='OpenCLIPClassEmbeddings', class_names=..., model_name='ViT-H-14')``.
            It must give one embedding per class.
        tau (float): Temperature of the cosine similarity. Defaults to 0.07.
        block_depth (int): Applications of the shared bottleneck block. Defaults to 2.
        **kwargs: :class:`DAFormerHead` arguments (``in_channels``, ``in_index``,
            ``channels``, ``embed_dims``, ``fusion_cfg``, ``num_classes``, ...).
    """

    def __init__(self,
                 text_encoder: ConfigType,
                 tau: float = 0.07,
                 block_depth: int = 2,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if tau <= 0:
            raise ValueError(f'LanguageConditionedHead: tau must be > 0, got {tau}.')
        if block_depth < 0:
            raise ValueError(f'LanguageConditionedHead: block_depth must be >= 0, got '
                             f'{block_depth}.')
        self.text_encoder = MODELS.build(text_encoder)
        num_texts = self.text_encoder.embeddings.shape[0]
        if num_texts != self.num_classes:
            raise ValueError(f'LanguageConditionedHead: the text encoder has {num_texts} class '
                             f'names but num_classes is {self.num_classes}; give '
                             'text_encoder.class_names one name per class, in label order.')
        self.text_projection = nn.Linear(self.text_encoder.embed_dim, self.channels)
        self.logit_scale = 1.0 / tau
        self.block_depth = block_depth
        self.similarity_block = SimilarityBottleneck()
        self.conv_seg = nn.Conv2d(self.channels + self.num_classes, self.out_channels, 1)

    def text_features(self) -> Tensor:
        """Projected class text features (K, channels)."""
        return self.text_projection(self.text_encoder())

    def similarity_maps(self, feats: Tensor, text_features: Tensor) -> Tensor:
        """Scaled cosine similarity of every pixel feature with every class text feature.

        Args:
            feats (Tensor): Pixel features (B, C, H, W).
            text_features (Tensor): Class features (K, C).

        Returns:
            Tensor: ``logit_scale * cos`` maps (B, K, H, W).
        """
        pixels = nn.functional.normalize(feats, dim=1)
        texts = nn.functional.normalize(text_features, dim=1)
        return self.logit_scale * torch.einsum('bchw,kc->bkhw', pixels, texts)

    def refine(self, maps: Tensor) -> Tensor:
        """Apply the shared bottleneck ``block_depth`` times, the last time without ReLU."""
        for depth in range(self.block_depth):
            maps = self.similarity_block(maps, activate=depth < self.block_depth - 1)
        return maps

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tensor:
        """Logits (B, num_classes, H/4, W/4) from the encoder levels."""
        feats = self.fuse(inputs)
        maps = self.refine(self.similarity_maps(feats, self.text_features()))
        return self.cls_seg(torch.cat([feats, maps], dim=1))
