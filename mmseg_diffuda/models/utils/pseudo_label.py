"""Teacher pseudo-labels with DAFormer's batch-level confidence weight.

DAFormer (Hoyer et al., CVPR 2022), official ``mmseg/models/uda/dacs.py`` (``forward_train``);
MIC (Hoyer et al., CVPR 2023), official ``seg/mmseg/models/uda/teacher_module.py``
(``get_pseudo_label_and_weight``, ``filter_valid_pseudo_region``).
"""
from typing import NamedTuple, Optional

import torch
from torch import Tensor


class PseudoLabel(NamedTuple):
    """Pseudo-labels of a target batch.

    Attributes:
        label (Tensor): Arg-max class per pixel, long (B, H, W).
        weight (Tensor): Pixel weight, float (B, H, W).
        confident_ratio (float): Share of pixels of the whole batch whose maximum probability
            reaches the threshold (1.0 when no threshold is used).
        confidence (Tensor, optional): Maximum softmax probability per pixel, float (B, H, W)
            (what the threshold is compared with; for visualisation).
    """
    label: Tensor
    weight: Tensor
    confident_ratio: float
    confidence: Optional[Tensor] = None


@torch.no_grad()
def pseudo_label_from_logits(logits: Tensor,
                             threshold: Optional[float] = 0.968,
                             ignore_top: int = 0,
                             ignore_bottom: int = 0) -> PseudoLabel:
    """Turn teacher logits into pseudo-labels and DAFormer's confidence weight.

    ``q = #{pixels with max softmax prob >= threshold} / #{pixels in the whole batch}`` is a
    single scalar for the batch; the weight map is ``q`` everywhere (low-confidence pixels are
    still trained on, with weight ``q``; labels are never set to ignore). The top ``ignore_top``
    and bottom ``ignore_bottom`` rows get weight 0 (DAFormer's crop of regions with
    rectification artefacts, 15 / 120 rows on 512x512 Cityscapes crops). ``threshold=None``
    gives weight 1 (MIC's "w/o pseudo-label confidence weight" ablation).

    Args:
        logits (Tensor): Teacher logits (B, C, H, W); gradients are not tracked.
        threshold (float, optional): Confidence threshold tau. Defaults to 0.968.
        ignore_top (int): Rows zeroed at the top. Defaults to 0.
        ignore_bottom (int): Rows zeroed at the bottom. Defaults to 0.

    Returns:
        PseudoLabel: ``label`` (B, H, W) long, ``weight`` (B, H, W) float, ``confident_ratio``,
        ``confidence`` (B, H, W) float.
    """
    if logits.dim() != 4:
        raise ValueError(f'pseudo_label_from_logits expects logits (B, C, H, W), got '
                         f'{tuple(logits.shape)}.')
    if ignore_top < 0 or ignore_bottom < 0:
        raise ValueError('pseudo_label_from_logits: ignore_top and ignore_bottom must be >= 0, '
                         f'got {ignore_top} and {ignore_bottom}.')
    probs = torch.softmax(logits.detach().float(), dim=1)
    max_prob, label = probs.max(dim=1)
    if threshold is None:
        ratio = 1.0
    else:
        ratio = max_prob.ge(threshold).sum().item() / max_prob.numel()
    weight = torch.full_like(max_prob, ratio)
    if ignore_top > 0:
        weight[:, :ignore_top] = 0
    if ignore_bottom > 0:
        weight[:, max(0, weight.shape[1] - ignore_bottom):] = 0
    return PseudoLabel(label=label, weight=weight, confident_ratio=ratio, confidence=max_prob)
