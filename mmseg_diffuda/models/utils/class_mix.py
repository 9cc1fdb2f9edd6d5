"""ClassMix masks and the cross-domain mix of images, labels and pixel weights.

DACS (Tranheden et al., WACV 2021) as used by DAFormer (Hoyer et al., CVPR 2022), official
``mmseg/models/utils/dacs_transforms.py`` (``get_class_masks``, ``one_mix``).
"""
from typing import List, Optional

import torch
from torch import Tensor


def get_class_masks(labels: Tensor,
                    batch_wide_classes: bool = True,
                    generator: Optional[torch.Generator] = None,
                    ignore_index: int = 255) -> List[Tensor]:
    """Draw one ClassMix mask per sample from the source labels.

    For each sample, ``(n + n % 2) // 2`` (i.e. ``ceil(n / 2)``) of the ``n`` candidate classes are
    chosen uniformly without replacement; the mask is 1 where the sample's label is one of them.

    Candidate classes:

    - ``batch_wide_classes=True`` (faithful default): the candidates are ``torch.unique`` of the
      **whole batch**, ignore index included, as in DAFormer's and MIC's code (a deviation from
      DACS acknowledged by the authors in DAFormer issue #19 / MIC issue #18 and kept there). A
      chosen class may be absent from the sample (its mask is then smaller than half the
      sample's classes) and ignore regions (255) may be pasted into the target.
    - ``batch_wide_classes=False``: the candidates are the classes present in the sample itself,
      ``ignore_index`` excluded (the per-image DACS formulation).

    Args:
        labels (Tensor): Source labels of shape (B, 1, H, W), integer dtype.
        batch_wide_classes (bool): Take candidate classes from the whole batch (faithful) or
            from each sample. Defaults to True.
        generator (torch.Generator, optional): Random generator for the class choice.
            Defaults to None (global RNG).
        ignore_index (int): Label value excluded from the candidates when
            ``batch_wide_classes=False``. Defaults to 255.

    Returns:
        list[Tensor]: ``B`` float masks of shape (1, 1, H, W) with values in {0, 1}.
    """
    if labels.dim() != 4 or labels.shape[1] != 1:
        raise ValueError(f'get_class_masks expects labels of shape (B, 1, H, W), got '
                         f'{tuple(labels.shape)}; add the channel dim with labels[:, None].')
    batch_classes = torch.unique(labels)
    masks = []
    for label in labels:
        if batch_wide_classes:
            candidates = batch_classes
        else:
            candidates = torch.unique(label)
            candidates = candidates[candidates != ignore_index]
        chosen = _choose_half(candidates, generator)
        masks.append(torch.isin(label, chosen).float().unsqueeze(0))
    return masks


def _choose_half(classes: Tensor, generator: Optional[torch.Generator]) -> Tensor:
    """Return ``ceil(n / 2)`` of the ``n`` given classes, chosen without replacement."""
    num_classes = classes.numel()
    num_chosen = (num_classes + num_classes % 2) // 2
    perm_device = generator.device if generator is not None else torch.device('cpu')
    order = torch.randperm(num_classes, generator=generator, device=perm_device)
    return classes[order[:num_chosen].to(classes.device)]


def mix(mask: Tensor, foreground: Tensor, background: Tensor) -> Tensor:
    """Paste ``foreground`` onto ``background`` where ``mask`` is 1: ``M * fg + (1 - M) * bg``.

    DACS/DAFormer ``one_mix``. Used for normalised images (B, 3, H, W), labels (B, 1, H, W) and
    pixel weights: the mask broadcasts over the channel dimension. Integer inputs (labels) keep
    their dtype; for them the mask must be binary and the result is selected, not interpolated.

    Args:
        mask (Tensor): Mixing mask, e.g. (B, 1, H, W) or (1, 1, H, W), values in [0, 1].
        foreground (Tensor): Values taken where ``mask`` is 1 (the source).
        background (Tensor): Values taken where ``mask`` is 0 (the target), same shape and dtype
            as ``foreground``.

    Returns:
        Tensor: The mixed tensor, with the shape and dtype of ``foreground``.
    """
    if foreground.shape != background.shape or foreground.dtype != background.dtype:
        raise ValueError(f'mix needs foreground and background of equal shape and dtype, got '
                         f'{tuple(foreground.shape)} {foreground.dtype} and '
                         f'{tuple(background.shape)} {background.dtype}.')
    if torch.broadcast_shapes(mask.shape, foreground.shape) != foreground.shape:
        raise ValueError(f'mix: mask of shape {tuple(mask.shape)} does not broadcast to the mixed '
                         f'tensor shape {tuple(foreground.shape)}; give the mask the same number '
                         f'of dims (e.g. mask[:, 0] for (B, H, W) pixel weights).')
    if foreground.is_floating_point():
        mask = mask.to(foreground.dtype)
        return mask * foreground + (1 - mask) * background
    if not torch.all((mask == 0) | (mask == 1)):
        raise ValueError('mix: integer tensors (labels) can only be mixed with a binary mask.')
    return torch.where(mask.bool(), foreground, background)
