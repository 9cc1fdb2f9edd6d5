"""ImageNet feature distance (FD) regulariser on thing classes.

DAFormer (Hoyer et al., CVPR 2022), Sec. 3.5; official ``mmseg/models/uda/dacs.py``
(``masked_feat_dist``, ``calc_feat_dist``) and ``mmseg/utils/utils.py`` (``downscale_label_ratio``).
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

#: Cityscapes train ids of the thing classes used by DAFormer's FD: traffic light, traffic sign,
#: person, rider, car, truck, bus, train, motorcycle, bicycle.
CITYSCAPES_THING_CLASSES = (6, 7, 11, 12, 13, 14, 15, 16, 17, 18)


@torch.no_grad()
def downscale_label_ratio(label: Tensor,
                          scale_factor: int,
                          min_ratio: float,
                          num_classes: int,
                          ignore_index: int = 255) -> Tensor:
    """Downscale a label map by majority vote, keeping only confident cells.

    Each ``scale_factor x scale_factor`` cell gets its most frequent value (the ignore index
    competing as one more class) if that value covers at least ``min_ratio`` of the cell, and
    ``ignore_index`` otherwise. Trailing rows/columns that do not fill a cell are dropped.

    Args:
        label (Tensor): Labels (B, 1, H, W), integer dtype.
        scale_factor (int): Cell side in pixels (>= 1).
        min_ratio (float): Minimum share of the majority value in a cell.
        num_classes (int): Number of classes; values must be in ``[0, num_classes)`` or
            ``ignore_index``.
        ignore_index (int): Ignore value. Defaults to 255.

    Returns:
        Tensor: Long labels (B, 1, H // scale_factor, W // scale_factor).
    """
    if label.dim() != 4 or label.shape[1] != 1:
        raise ValueError(f'downscale_label_ratio expects labels (B, 1, H, W), got '
                         f'{tuple(label.shape)}.')
    if scale_factor < 1:
        raise ValueError(f'downscale_label_ratio: scale_factor must be >= 1, got {scale_factor}.')
    ignore_slot = num_classes
    slots = torch.where(label == ignore_index, torch.full_like(label, ignore_slot), label).long()
    if slots.min() < 0 or slots.max() > ignore_slot:
        raise ValueError(f'downscale_label_ratio: label values must be in [0, {num_classes}) or '
                         f'{ignore_index}, got min {label.min().item()}, max {label.max().item()}.')
    one_hot = F.one_hot(slots[:, 0], num_classes=num_classes + 1).permute(0, 3, 1, 2).float()
    ratios = F.avg_pool2d(one_hot, kernel_size=scale_factor)
    best_ratio, best = ratios.max(dim=1, keepdim=True)
    best[(best == ignore_slot) | (best_ratio < min_ratio)] = ignore_index
    return best


def feature_distance_loss(feat: Tensor,
                          feat_imnet: Tensor,
                          label: Optional[Tensor],
                          thing_classes: Optional[Sequence[int]],
                          num_classes: int,
                          min_ratio: float = 0.75,
                          loss_weight: float = 0.005,
                          ignore_index: int = 255) -> Tensor:
    """DAFormer's ImageNet feature distance between student and frozen ImageNet features.

    ``loss_weight * mean_p ||f(p) - f_imnet(p)||_2`` (per-position L2 norm, not squared) over the
    positions whose downscaled source label (:func:`downscale_label_ratio`, scale =
    ``label_W // feat_W``) is a thing class, or over all positions if ``thing_classes`` is None.
    DAFormer applies it to the last encoder stage (stride 32) with ``loss_weight=0.005``,
    ``min_ratio=0.75`` and :data:`CITYSCAPES_THING_CLASSES`.

    When no position is a thing class the original averages an empty tensor (NaN, no gradient
    to the weights); here a zero that is still connected to ``feat`` is returned instead, so
    logging and the backward pass stay finite.

    Args:
        feat (Tensor): Student features (B, C, h, w).
        feat_imnet (Tensor): ImageNet-model features (B, C, h, w); no gradient flows into them.
        label (Tensor, optional): Source labels (B, 1, H, W); required with ``thing_classes``.
        thing_classes (Sequence[int], optional): Classes whose positions are regularised.
        num_classes (int): Number of classes of the labels.
        min_ratio (float): ``min_ratio`` of the label downscaling. Defaults to 0.75.
        loss_weight (float): lambda_FD. Defaults to 0.005.
        ignore_index (int): Ignore value of the labels. Defaults to 255.

    Returns:
        Tensor: Scalar loss.
    """
    if feat.shape != feat_imnet.shape:
        raise ValueError(f'feature_distance_loss: feature shapes differ: {tuple(feat.shape)} vs '
                         f'{tuple(feat_imnet.shape)}.')
    distance = torch.norm(feat - feat_imnet.detach(), p=2, dim=1)
    if thing_classes is None:
        return loss_weight * distance.mean()
    if label is None:
        raise ValueError('feature_distance_loss: thing_classes needs the source label.')
    scale = label.shape[-1] // feat.shape[-1]
    small_label = downscale_label_ratio(label, scale, min_ratio, num_classes, ignore_index)
    if small_label.shape[-2:] != distance.shape[-2:]:
        raise ValueError(f'feature_distance_loss: label {tuple(label.shape[-2:])} downscaled by '
                         f'{scale} gives {tuple(small_label.shape[-2:])}, not the feature size '
                         f'{tuple(distance.shape[-2:])}; the label must be the feature size times '
                         f'the feature stride.')
    things = torch.as_tensor(list(thing_classes), device=label.device, dtype=small_label.dtype)
    mask = torch.isin(small_label[:, 0], things)
    if not mask.any():
        return distance.sum() * 0.0
    return loss_weight * distance[mask].mean()
