"""A frozen copy of a segmentor's encoder, e.g. DAFormer's ImageNet model for feature distance."""
import copy
from typing import List

import torch
from mmseg.models.segmentors import EncoderDecoder
from torch import Tensor, nn


class FrozenEncoder(nn.Module):
    """Frozen copy of ``segmentor.extract_feat`` (backbone, and neck if any), always in eval mode.

    DAFormer's ImageNet feature distance compares the student's features with those of the
    encoder as it was initialised (ImageNet weights); the official code builds a second
    segmentor (``imnet_model``) and only calls its ``extract_feat`` in eval mode under
    ``no_grad`` (``mmseg/models/uda/dacs.py``). Only the encoder is copied here.

    This is a plain ``nn.Module`` without ``init_weights``, so mmengine's recursive weight
    initialisation skips it: the owner copies the student's weights into it with
    :meth:`load_from` after the student's own initialisation (see ``DACS.init_weights``).

    Args:
        segmentor (EncoderDecoder): The (unwrapped) segmentor whose encoder is copied.
    """

    def __init__(self, segmentor: EncoderDecoder) -> None:
        super().__init__()
        self.backbone = copy.deepcopy(segmentor.backbone)
        self.neck = copy.deepcopy(segmentor.neck) if segmentor.with_neck else None
        self.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> 'FrozenEncoder':
        """Stay in eval mode whatever ``mode`` is (the ImageNet model never trains)."""
        return super().train(False)

    @torch.no_grad()
    def load_from(self, segmentor: EncoderDecoder) -> None:
        """Copy the current encoder weights (parameters and buffers) of ``segmentor``.

        Args:
            segmentor (EncoderDecoder): The (unwrapped) segmentor of the same architecture.
        """
        self.backbone.load_state_dict(segmentor.backbone.state_dict())
        if self.neck is not None:
            self.neck.load_state_dict(segmentor.neck.state_dict())

    @torch.no_grad()
    def forward(self, inputs: Tensor) -> List[Tensor]:
        """Features of the frozen encoder, without gradients.

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W).

        Returns:
            list[Tensor]: Multi-scale features, as ``segmentor.extract_feat``.
        """
        feats = self.backbone(inputs)
        if self.neck is not None:
            feats = self.neck(feats)
        return feats
