"""Decode-head loss with per-pixel weights (the path mmseg 1.x's ``loss_by_feat`` lacks).

DAFormer (Hoyer et al., CVPR 2022) trains the mixed images with a pixel weight map passed as
``seg_weight`` to the decode head's losses (official ``mmseg/models/decode_heads/decode_head.py``
``losses`` and ``mmseg/models/losses/cross_entropy_loss.py``).
"""
from typing import Optional

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.utils import SampleList
from torch import Tensor


def pixel_weighted_head_loss(decode_head: BaseDecodeHead,
                             seg_logits: Tensor,
                             data_samples: SampleList,
                             seg_weight: Optional[Tensor] = None) -> dict:
    """Compute a decode head's losses with an optional per-pixel weight map.

    Mirrors ``BaseDecodeHead.loss_by_feat`` of mmseg 1.x (stack ``gt_sem_seg``, resize the logits
    to the label size with the head's ``align_corners``, sum every ``loss_decode`` under its
    ``loss_name``, add ``acc_seg``) and passes ``weight=seg_weight`` to each loss. With mmseg's
    ``CrossEntropyLoss(avg_non_ignore=False)`` (its default) the result is
    ``sum(w * ce) / #all pixels``, ignored pixels counted in the denominator: DAFormer's
    reduction. If the head has a pixel sampler, its weights multiply ``seg_weight``.

    Args:
        decode_head (BaseDecodeHead): The head whose losses, ``ignore_index`` and
            ``align_corners`` are used.
        seg_logits (Tensor): Output of ``decode_head.forward``, (B, C, h, w).
        data_samples (list[SegDataSample]): Samples holding ``gt_sem_seg`` (1, H, W).
        seg_weight (Tensor, optional): Pixel weights (B, H, W) at label resolution. None means
            the head's plain loss.

    Returns:
        dict[str, Tensor]: ``{loss_name: loss, ..., 'acc_seg': accuracy}``.
    """
    seg_label = decode_head._stack_batch_gt(data_samples)
    seg_logits = resize(
        input=seg_logits,
        size=seg_label.shape[2:],
        mode='bilinear',
        align_corners=decode_head.align_corners)
    seg_label = seg_label.squeeze(1)
    if seg_weight is not None and seg_weight.shape != seg_label.shape:
        raise ValueError(f'pixel_weighted_head_loss: seg_weight must have the label shape '
                         f'{tuple(seg_label.shape)} (B, H, W), got {tuple(seg_weight.shape)}.')
    if decode_head.sampler is not None:
        sampled = decode_head.sampler.sample(seg_logits, seg_label[:, None])
        seg_weight = sampled if seg_weight is None else sampled * seg_weight

    losses_decode = decode_head.loss_decode
    if not isinstance(losses_decode, nn.ModuleList):
        losses_decode = [losses_decode]
    losses = dict()
    for loss_decode in losses_decode:
        value = loss_decode(
            seg_logits, seg_label, weight=seg_weight, ignore_index=decode_head.ignore_index)
        name = loss_decode.loss_name
        losses[name] = losses[name] + value if name in losses else value
    losses['acc_seg'] = accuracy(seg_logits, seg_label, ignore_index=decode_head.ignore_index)
    return losses
