"""DAFormer decode head: multi-level linear embeddings fused by a context-aware (ASPP) module.

DAFormer (Hoyer et al., CVPR 2022), Sec. 3.3 and Tab. 7; official
``mmseg/models/decode_heads/daformer_head.py`` (``DAFormerHead``, ``ASPPWrapper``) and
``configs/_base_/models/daformer_{sepaspp,conv1}_mitb5.py``.
"""
from typing import List, Sequence, Tuple, Union

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.aspp_head import ASPPModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.decode_heads.sep_aspp_head import DepthwiseSeparableASPPModule
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


class LinearEmbedding(nn.Module):
    """Per-pixel linear projection of a feature map (SegFormer's "MLP" layer).

    Equivalent to a 1x1 convolution with bias; kept as ``nn.Linear`` named ``proj`` so the
    parameter names match DAFormer's checkpoints (``embed_layers.<i>.proj.weight``).

    Args:
        in_channels (int): Input channels.
        embed_dims (int): Output channels.
    """

    def __init__(self, in_channels: int, embed_dims: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_channels, embed_dims)

    def forward(self, x: Tensor) -> Tensor:
        """Project (B, C, H, W) to (B, embed_dims, H, W)."""
        batch_size, _, height, width = x.shape
        tokens = self.proj(x.flatten(2).transpose(1, 2))
        return tokens.transpose(1, 2).reshape(batch_size, -1, height, width)


@MODELS.register_module()
class ASPPFusion(nn.Module):
    """DAFormer's context-aware feature fusion: parallel (separable) ASPP branches + 3x3 conv.

    The branches are mmseg's ``DepthwiseSeparableASPPModule`` (``sep=True``: a 1x1 conv for
    dilation 1, depthwise-separable 3x3 convs otherwise) or ``ASPPModule`` (``sep=False``),
    optionally preceded by an image-pooling branch; their concatenation is fused by a regular
    3x3 ``ConvModule`` bottleneck (official ``ASPPWrapper``; DAFormer uses
    ``dilations=(1, 6, 12, 18)``, ``sep=True``, ``pool=False``).

    Args:
        in_channels (int): Channels of the concatenated embeddings.
        out_channels (int): Channels of every branch and of the output.
        dilations (Sequence[int]): Dilation of each branch. Defaults to (1, 6, 12, 18).
        sep (bool): Depthwise-separable branches. Defaults to True.
        pool (bool): Add a global-average-pooling branch. Defaults to False.
        norm_cfg (dict, optional): Norm layer config. Defaults to None.
        act_cfg (dict, optional): Activation config. Defaults to ReLU.
        align_corners (bool): ``align_corners`` of the pooling branch upsampling.
            Defaults to False.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 dilations: Sequence[int] = (1, 6, 12, 18),
                 sep: bool = True,
                 pool: bool = False,
                 norm_cfg: OptConfigType = None,
                 act_cfg: OptConfigType = dict(type='ReLU'),
                 align_corners: bool = False) -> None:
        super().__init__()
        self.align_corners = align_corners
        self.image_pool = None
        if pool:
            self.image_pool = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg))
        branches = DepthwiseSeparableASPPModule if sep else ASPPModule
        self.aspp_modules = branches(
            dilations=tuple(dilations),
            in_channels=in_channels,
            channels=out_channels,
            conv_cfg=None,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.bottleneck = ConvModule(
            (len(dilations) + int(pool)) * out_channels,
            out_channels,
            kernel_size=3,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        """Fuse (B, in_channels, H, W) into (B, out_channels, H, W)."""
        outs = []
        if self.image_pool is not None:
            outs.append(
                resize(
                    self.image_pool(x),
                    size=x.shape[2:],
                    mode='bilinear',
                    align_corners=self.align_corners))
        outs.extend(self.aspp_modules(x))
        return self.bottleneck(torch.cat(outs, dim=1))


@MODELS.register_module()
class DAFormerHead(BaseDecodeHead):
    """DAFormer decode head.

    Every selected encoder level is linearly embedded to ``embed_dims`` channels, upsampled
    (bilinear) to the size of the first selected level (stride 4 for MiT), concatenated and fused
    by ``fusion_cfg``; ``cls_seg`` (dropout + 1x1 conv) gives the logits at that size.

    ``fusion_cfg`` is built from ``MODELS`` with ``in_channels`` (sum of the embeddings) and
    ``out_channels`` (``channels``) filled in, and the head's ``norm_cfg``/``act_cfg`` as defaults:

    - ``dict(type='ASPPFusion', dilations=(1, 6, 12, 18), sep=True, pool=False)`` (default,
      DAFormer's context-aware fusion, official ``daformer_sepaspp_mitb5.py``);
    - ``dict(type='ConvModule', kernel_size=1)`` (the "SegF. with C_e=256" / conv1 ablation,
      official ``daformer_conv1_mitb5.py``).

    Args:
        embed_dims (int | Sequence[int]): Embedding channels, one for all levels or one per
            selected level. Defaults to 256.
        fusion_cfg (dict, optional): Fusion module config; None selects DAFormer's separable
            ASPP fusion above.
        with_cp (bool): Gradient checkpointing of the embedding + fusion (a memory lever: the
            fused maps at the first level's resolution are recomputed in the backward instead of
            kept; with MADM's stride-1 ``s0`` level they hold most of the activations). The
            recomputation updates BatchNorm running statistics a second time (as ``with_cp`` of
            mmcv/mmseg backbones does). Defaults to False.
        **kwargs: ``BaseDecodeHead`` arguments (``in_channels`` list, ``in_index`` list,
            ``channels``, ``num_classes``, ...); ``input_transform`` is always
            ``'multiple_select'``.
    """

    def __init__(self,
                 embed_dims: Union[int, Sequence[int]] = 256,
                 fusion_cfg: OptConfigType = None,
                 with_cp: bool = False,
                 **kwargs) -> None:
        super().__init__(input_transform='multiple_select', **kwargs)
        self.with_cp = with_cp
        embed_dims = self._per_level(embed_dims)
        self.embed_layers = nn.ModuleDict({
            str(index): LinearEmbedding(in_channels, dims)
            for index, in_channels, dims in zip(self.in_index, self.in_channels, embed_dims)
        })
        self.fuse_layer = MODELS.build(self._fusion_cfg(fusion_cfg, sum(embed_dims)))

    def _per_level(self, embed_dims: Union[int, Sequence[int]]) -> List[int]:
        """Return one embedding width per selected level."""
        if isinstance(embed_dims, int):
            return [embed_dims] * len(self.in_index)
        if len(embed_dims) != len(self.in_index):
            raise ValueError(f'DAFormerHead: embed_dims has {len(embed_dims)} entries but in_index '
                             f'selects {len(self.in_index)} levels.')
        return list(embed_dims)

    def _fusion_cfg(self, fusion_cfg: OptConfigType, in_channels: int) -> ConfigType:
        """Complete the fusion config with channels and the head's norm/act defaults."""
        cfg = dict(type='ASPPFusion') if fusion_cfg is None else dict(fusion_cfg)
        cfg.update(in_channels=in_channels, out_channels=self.channels)
        cfg.setdefault('norm_cfg', self.norm_cfg)
        cfg.setdefault('act_cfg', self.act_cfg)
        return cfg

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tensor:
        """Compute logits (B, num_classes, H/4, W/4) from the encoder levels."""
        return self.cls_seg(self.fuse(inputs))

    def fuse(self, inputs: Tuple[Tensor, ...]) -> Tensor:
        """Embed, upsample and fuse the encoder levels into (B, channels, H/4, W/4)."""
        if self.with_cp and self.training and torch.is_grad_enabled():
            return checkpoint(self._fuse, *inputs, use_reentrant=False)
        return self._fuse(*inputs)

    def _fuse(self, *inputs: Tensor) -> Tensor:
        feats = self._transform_inputs(inputs)
        out_size = feats[0].shape[2:]
        embedded = []
        for index, feat in zip(self.in_index, feats):
            x = self.embed_layers[str(index)](feat)
            if x.shape[2:] != out_size:
                x = resize(x, size=out_size, mode='bilinear', align_corners=self.align_corners)
            embedded.append(x)
        return self.fuse_layer(torch.cat(embedded, dim=1))
