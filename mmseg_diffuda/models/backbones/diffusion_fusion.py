"""DIFF's trainable part: per-stride aggregation of the diffusion features and top-down fusion.

DIFF (Ji et al., ICASSP 2025), official ``mmseg/models/backbones/diff/src/archs/
aggregation_network.py`` (``StrideDirectAggregationNetwork``) and ``.../src/models/finecoder.py``
(``DiftStrideFinecoder``, ``EnhancedFusionNetwork``, ``EnhancedFeatureFusion``, ``ResBlock``),
rebuilt from mmcv building blocks.
"""
from typing import Dict, List, Sequence

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, ModuleDict, ModuleList
from mmengine.model.weight_init import constant_init, kaiming_init
from torch import Tensor, nn
from torch.nn import functional as F

from .stable_diffusion import BottleneckProjection


class StrideAggregation(BaseModule):
    """One GroupNorm bottleneck block per stride, from the stacked timesteps to ``out``.

    DIFF's ``StrideDirectAggregationNetwork``: a detectron2 ``BottleneckBlock`` stage (one block,
    width ``out // 4``, GroupNorm with 16 groups, 1x1 projection shortcut, MSRA init) per
    stride; the official input GroupNorm of the block is disabled, so the raw diffusion features
    enter the first 1x1 convolution. This is :class:`BottleneckProjection` (shared with MADM).
    Only the strides given are built: the official stride-64 branch is computed and then dropped
    by the fusion, so it is left out.

    Args:
        in_channels (dict[int, int]): Stride -> input channels (all timesteps stacked).
        out_channels (dict[int, int]): Stride -> output channels (DIFF: 8: 512, 16: 1024,
            32: 2048).
        num_groups (int): GroupNorm groups. Defaults to 16.
    """

    def __init__(self, in_channels: Dict[int, int], out_channels: Dict[int, int],
                 num_groups: int = 16) -> None:
        super().__init__()
        if set(in_channels) != set(out_channels):
            raise ValueError(f'StrideAggregation: strides of the features {sorted(in_channels)} '
                             f'and of the projections {sorted(out_channels)} differ.')
        norm_cfg = dict(type='GN', num_groups=num_groups, requires_grad=True)
        self.strides = sorted(in_channels)
        self.blocks = ModuleDict({
            str(s): BottleneckProjection(in_channels[s], out_channels[s], out_channels[s] // 4,
                                         norm_cfg)
            for s in self.strides
        })

    def forward(self, feats: Dict[int, Tensor]) -> List[Tensor]:
        """Aggregate each stride.

        Args:
            feats (dict[int, Tensor]): Stride -> stacked features (B, C_in, H/s, W/s).

        Returns:
            list[Tensor]: Projected features in increasing stride order.
        """
        return [self.blocks[str(s)](feats[s].to(self.blocks[str(s)].conv1.conv.weight.dtype))
                for s in self.strides]


class FusionResBlock(nn.Module):
    """3x3 conv + GN + ReLU, 3x3 conv + GN, identity add, ReLU (DIFF's ``ResBlock``; the
    convolutions keep their bias as in the original).

    Args:
        channels (int): Channels.
        num_groups (int): GroupNorm groups. Defaults to 32.
    """

    def __init__(self, channels: int, num_groups: int = 32) -> None:
        super().__init__()
        norm_cfg = dict(type='GN', num_groups=num_groups, requires_grad=True)
        self.conv1 = ConvModule(channels, channels, 3, padding=1, bias=True, norm_cfg=norm_cfg,
                                act_cfg=dict(type='ReLU'))
        self.conv2 = ConvModule(channels, channels, 3, padding=1, bias=True, norm_cfg=norm_cfg,
                                act_cfg=None)

    def forward(self, x: Tensor) -> Tensor:
        """Residual block on (B, C, H, W)."""
        return F.relu(self.conv2(self.conv1(x)) + x)


class UpFusion(nn.Module):
    """Transposed conv (4, 2, 1) to twice the size, optional skip-add, :class:`FusionResBlock`
    (DIFF's ``EnhancedFeatureFusion``).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels (and those of the skip).
        num_groups (int): GroupNorm groups of the residual block. Defaults to 32.
    """

    def __init__(self, in_channels: int, out_channels: int, num_groups: int = 32) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1)
        kaiming_init(self.deconv, mode='fan_out', nonlinearity='relu')
        self.block = FusionResBlock(out_channels, num_groups)

    def forward(self, x: Tensor, skip: Tensor = None) -> Tensor:
        """Upsample ``x`` by 2, add ``skip`` if given, refine."""
        x = self.deconv(x)
        if skip is not None:
            x = x + skip
        return self.block(x)


class TopDownFusion(BaseModule):
    """DIFF's "finecoder": GroupNorm on each aggregated stride, top-down fusion to stride 4.

    .. code:: text

        g_s = GN(x_s)                                   s = 8, 16, 32 (returned as they are)
        y16 = Res(deconv(g_32) + g_16); y8 = Res(deconv(y16) + g_8); y4 = Res(deconv(y8))
        out = [y4, g_8, g_16, g_32]

    Only the stride-4 output comes from the fusion (the intermediate ``y16``, ``y8`` are not
    returned, and the stride-4 step has no skip), as in the official ``DiftStrideFinecoder``.

    Args:
        in_channels (Sequence[int]): Channels at strides 8, 16, 32 (DIFF: 512, 1024, 2048).
        out_channels_s4 (int): Channels of the stride-4 output (DIFF: 256).
        num_groups (int): GroupNorm groups. Defaults to 32.
    """

    def __init__(self, in_channels: Sequence[int], out_channels_s4: int,
                 num_groups: int = 32) -> None:
        super().__init__()
        if len(in_channels) != 3:
            raise ValueError('TopDownFusion takes the strides 8, 16 and 32, got in_channels='
                             f'{list(in_channels)}.')
        self.norms = ModuleList([nn.GroupNorm(num_groups, c) for c in in_channels])
        for norm in self.norms:
            constant_init(norm, 1, bias=0)
        c8, c16, c32 = in_channels
        self.fuse16 = UpFusion(c32, c16, num_groups)
        self.fuse8 = UpFusion(c16, c8, num_groups)
        self.fuse4 = UpFusion(c8, out_channels_s4, num_groups)

    def forward(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """Fuse ``[x8, x16, x32]`` into ``[y4, g8, g16, g32]``."""
        g8, g16, g32 = (norm(x) for norm, x in zip(self.norms, feats))
        y4 = self.fuse4(self.fuse8(self.fuse16(g32, g16), g8))
        return [y4, g8, g16, g32]
