"""CrossMatch's multimodal auxiliary network: the RGB segmentor plus a zero-initialised depth path.

CrossMatch (Yin et al., ICCV 2023) trains, next to the RGB segmentor kept for inference, an
auxiliary network that "takes depth as additional input" and is discarded after training. The
paper's code is not public; the architecture here is this project's interpretation, documented in
``docs/methods/crossmatch.md``:

- the RGB part is a full copy of the student's architecture (initialised from the same source
  checkpoint), so the two streams differ only by the depth path: an *asymmetric* pair;
- depth enters through a second, small encoder (:class:`DepthEncoder`) whose multi-scale
  features are *added* to the RGB encoder's features before the decode head, each through a
  1x1 convolution initialised to zero. At initialisation the auxiliary network therefore
  computes exactly the source model's logits, and the depth path grows from there (the
  "zero convolution" of ControlNet, Zhang et al., ICCV 2023; additive per-scale RGB-D fusion as
  in FuseNet, Hazirbas et al., ACCV 2016, and ESANet, Seichter et al., ICRA 2021).
"""
import copy
from typing import List, Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor, nn


@MODELS.register_module()
class DepthEncoder(BaseModule):
    """A small convolutional pyramid over a metric depth map.

    Input encoding (two channels): ``min(z, max_depth) / max_depth`` on valid pixels (0 on
    invalid ones) and the validity mask ``z > 0``. Depth is clipped at ``max_depth`` because
    stereo depth grows noisy with distance (disparity error is constant, depth error grows with
    ``z^2``); 80 m is the usual cap of driving-scene depth (KITTI's Eigen evaluation). The mask
    channel lets the network tell "invalid" (no stereo match, sky) from "near". Padding added by
    the data preprocessor (value 255) reads as far depth.

    Layers: a stride-4 7x7 stem (the stride of the first MiT stage) and one stride-2 3x3
    convolution per further scale, each with normalisation and ReLU; one output per entry of
    ``channels``.

    Args:
        channels (Sequence[int]): Output widths, one per scale (strides 4, 8, 16, ...).
            Defaults to (16, 32, 64, 128).
        max_depth (float): Depth in metres mapped to 1. Defaults to 80.0.
        norm_cfg (ConfigType): Normalisation layers. Defaults to ``dict(type='BN')``.
        init_cfg (OptConfigType): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 channels: Sequence[int] = (16, 32, 64, 128),
                 max_depth: float = 80.0,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not channels:
            raise ValueError('DepthEncoder: channels must name at least one scale.')
        if max_depth <= 0:
            raise ValueError(f'DepthEncoder: max_depth must be positive, got {max_depth}.')
        self.channels = tuple(channels)
        self.max_depth = float(max_depth)
        self.stages = nn.ModuleList()
        in_channels = 2
        for index, out_channels in enumerate(self.channels):
            kernel, stride = (7, 4) if index == 0 else (3, 2)
            self.stages.append(ConvModule(in_channels, out_channels, kernel, stride=stride,
                                          padding=kernel // 2, norm_cfg=norm_cfg))
            in_channels = out_channels

    def encode(self, depth: Tensor) -> Tensor:
        """Two-channel network input of a depth map.

        Args:
            depth (Tensor): Metric depth (B, 1, H, W), 0 = invalid.

        Returns:
            Tensor: ``[clipped normalised depth, validity]`` (B, 2, H, W).
        """
        valid = (depth > 0).to(depth.dtype)
        scaled = depth.clamp(min=0, max=self.max_depth) / self.max_depth
        return torch.cat([scaled * valid, valid], dim=1)

    def forward(self, depth: Tensor) -> List[Tensor]:
        """Multi-scale depth features.

        Args:
            depth (Tensor): Metric depth (B, 1, H, W), 0 = invalid.

        Returns:
            list[Tensor]: One feature map per entry of ``channels``.
        """
        x = self.encode(depth)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


@MODELS.register_module()
class RGBDAuxiliaryNetwork(BaseModule):
    """CrossMatch's auxiliary stream: a copy of the RGB segmentor with an additive depth path.

    .. code:: text

        forward(rgb, depth)
          feats = segmentor.extract_feat(rgb)                       RGB encoder (+ neck)
          for each feature the decode head reads (in_index[i]):
              feats[in_index[i]] += resize(zero_conv_i(depth_encoder(depth)[i]))
          return segmentor.decode_head(feats)                       logits at head resolution

    ``depth_encoder=None`` gives the RGB-only auxiliary network (the "without depth" ablation):
    a second RGB stream of the same architecture, which then differs from the main stream only
    through its own perturbations and training.

    The fusion convolutions are zero at construction and again after :meth:`init_weights`, so
    before the first update the output equals ``segmentor``'s for any depth; their gradients
    are not zero, so the depth path starts to contribute after the first optimiser step.

    Args:
        segmentor (ConfigType): Config of the RGB segmentor (the student's config; an mmseg
            ``EncoderDecoder`` whose decode head has list ``in_channels``/``in_index``).
        depth_encoder (OptConfigType): :class:`DepthEncoder` config (one output scale per
            decode-head input); None for an RGB-only auxiliary network. Defaults to
            ``dict(type='DepthEncoder')``.
        init_cfg (OptConfigType): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 segmentor: ConfigType,
                 depth_encoder: OptConfigType = dict(type='DepthEncoder'),
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.segmentor = MODELS.build(copy.deepcopy(segmentor))
        self.depth_encoder: Optional[DepthEncoder] = None
        self.depth_fusion: Optional[nn.ModuleList] = None
        if depth_encoder is not None:
            self.depth_encoder = MODELS.build(depth_encoder)
            self.depth_fusion = self._build_fusion(self.depth_encoder.channels)

    @property
    def uses_depth(self) -> bool:
        """bool: Whether the network reads a depth map."""
        return self.depth_encoder is not None

    def _build_fusion(self, depth_channels: Sequence[int]) -> nn.ModuleList:
        """One zero-initialised 1x1 convolution per decode-head input."""
        head = self.segmentor.decode_head
        rgb_channels, in_index = head.in_channels, head.in_index
        if not isinstance(rgb_channels, (list, tuple)) or len(rgb_channels) != len(
                depth_channels):
            raise ValueError(
                'RGBDAuxiliaryNetwork: the depth encoder has '
                f'{len(depth_channels)} scales but the decode head reads '
                f'{rgb_channels} (in_index={in_index}); give depth_encoder.channels one width '
                'per decode-head input.')
        fusion = nn.ModuleList(
            nn.Conv2d(depth, rgb, kernel_size=1) for depth, rgb in zip(depth_channels,
                                                                       rgb_channels))
        self._zero_fusion(fusion)
        return fusion

    @staticmethod
    @torch.no_grad()
    def _zero_fusion(fusion: nn.ModuleList) -> None:
        for conv in fusion:
            conv.weight.zero_()
            conv.bias.zero_()

    def init_weights(self) -> None:
        """Initialise the children, then (re-)zero the fusion convolutions."""
        super().init_weights()
        if self.depth_fusion is not None:
            self._zero_fusion(self.depth_fusion)

    def forward(self, inputs: Tensor, depth: Optional[Tensor] = None) -> Tensor:
        """Logits of the RGB(-D) auxiliary stream.

        Args:
            inputs (Tensor): Normalised RGB images (B, 3, H, W).
            depth (Tensor, optional): Metric depth (B, 1, H, W), 0 = invalid; required when
                the network has a depth encoder, ignored otherwise.

        Returns:
            Tensor: Logits (B, num_classes, h, w) at the decode head's output resolution.
        """
        feats = list(self.segmentor.extract_feat(inputs))
        if self.depth_encoder is not None:
            if depth is None:
                raise ValueError('RGBDAuxiliaryNetwork: this network has a depth encoder but '
                                 'got no depth; load it with LoadDepthFromFile or set '
                                 'depth_encoder=None (RGB-only auxiliary network).')
            in_index = self.segmentor.decode_head.in_index
            depth_feats = self.depth_encoder(depth)
            for index, fuse, depth_feat in zip(in_index, self.depth_fusion, depth_feats):
                added = resize(fuse(depth_feat), size=feats[index].shape[2:], mode='bilinear',
                               align_corners=False)
                feats[index] = feats[index] + added
        return self.segmentor.decode_head(feats)
