"""Tiny MiT pretrained as the toy analogue of ImageNet classification.

SegFormer's MiT encoders (Xie et al., NeurIPS 2021) are pretrained by ImageNet-1k image
classification with DeiT's recipe (Touvron et al., ICML 2021: colour jitter 0.4 and other
photometric augmentation); DAFormer (Hoyer et al., CVPR 2022) starts from them and keeps a frozen
copy for its ImageNet feature distance. The toy analogue classifies corpus images by content
(image-level tags only, no mask): a multi-label head on globally pooled features of the four MiT
stages predicts which of the 19 classes a caption names, under per-image colour jitter
(brightness, contrast, saturation 0.4) and random grayscale (p = 0.2). ImageNet labels name
objects, not the look of an image, so the style a caption also names is *not* a target (a first
recipe that also classified the 11 styles, without colour jitter, gave source-only models of 1.8
and 2.9 target mIoU on the toy RGB shift: docs/benchmarks.md). Only the encoder is kept, saved as
``{'state_dict': backbone.state_dict(), 'meta': ...}`` with mmseg's ``MixVisionTransformer``
key names, which is what ``init_cfg=dict(type='Pretrained', checkpoint=...)`` loads (the converted
ImageNet files mmseg hosts have the same layout).
"""
from typing import Dict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .corpus import TAG_CLASSES, Corpus
from .training import (adamw_cosine, crop_batch, optimizer_step, progress_steps,
                       set_postfix)

#: ImageNet statistics (RGB), as the toy configs' data preprocessors normalise MiT inputs.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


class TagClassifier(nn.Module):
    """MiT encoder + a linear multi-label head on the pooled features of every stage.

    Args:
        backbone (nn.Module): An mmseg ``MixVisionTransformer``.
        stage_channels (Sequence[int]): Output channels of its stages.
    """

    def __init__(self, backbone: nn.Module, stage_channels) -> None:
        super().__init__()
        self.backbone = backbone
        self.tags = nn.Linear(int(sum(stage_channels)), len(TAG_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([f.mean(dim=(2, 3)) for f in self.backbone(x)], dim=1)
        return self.tags(pooled)


def colour_jitter(batch: torch.Tensor, generator: torch.Generator, strength: float = 0.4,
                  grey_prob: float = 0.2) -> torch.Tensor:
    """Per-image brightness, contrast and saturation jitter and random grayscale (DeiT's colour
    augmentation), on RGB 0..255 batches.

    Args:
        batch (Tensor): (B, 3, H, W) RGB in 0..255.
        generator (torch.Generator): Source of the factors.
        strength (float): Factors are drawn from U[1 - strength, 1 + strength].
        grey_prob (float): Probability of replacing an image by its luminance.

    Returns:
        Tensor: The jittered batch, clipped to 0..255.
    """
    b = batch.shape[0]

    def factors() -> torch.Tensor:
        return (1 + strength * (2 * torch.rand(b, 1, 1, 1, generator=generator) - 1))

    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    x = batch * factors()  # brightness
    grey = (x * weights).sum(1, keepdim=True)
    x = grey.mean(dim=(2, 3), keepdim=True) + (x - grey.mean(dim=(2, 3), keepdim=True)) * factors()
    grey = (x * weights).sum(1, keepdim=True)
    x = grey + (x - grey) * factors()  # saturation
    to_grey = torch.rand(b, 1, 1, 1, generator=generator) < grey_prob
    x = torch.where(to_grey, (x * weights).sum(1, keepdim=True).expand_as(x), x)
    return x.clamp(0, 255)


def normalise_imagenet(batch: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB 0..255 -> ImageNet-normalised."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (batch - mean) / std


def build_mit(backbone_cfg: Dict) -> nn.Module:
    """Build the mmseg MiT of a config's ``model.backbone`` with its own initialisation."""
    from mmseg.registry import MODELS
    import mmseg.models  # noqa: F401  (registers the backbones)
    cfg = dict(backbone_cfg)
    cfg['init_cfg'] = None
    backbone = MODELS.build(cfg)
    backbone.init_weights()
    return backbone


def stage_channels(backbone_cfg: Dict):
    """Output channels of the MiT stages (``embed_dims * num_heads[i]``)."""
    return [backbone_cfg['embed_dims'] * h for h in backbone_cfg['num_heads']]


def pretrain_mit(corpus: Corpus, backbone_cfg: Dict, steps: int, batch_size: int, lr: float,
                 crop, seed: int, jitter: float = 0.4, grey_prob: float = 0.2,
                 progress: bool = False) -> nn.Module:
    """Train the MiT of ``backbone_cfg`` on image-level corpus tags; return the encoder.

    Loss: binary cross-entropy on the 19 class tags, AdamW with warm-up and cosine decay, random
    crops and flips, colour jitter and random grayscale (:func:`colour_jitter`).

    Args:
        corpus (Corpus): The pretraining corpus.
        backbone_cfg (dict): mmseg ``MixVisionTransformer`` config (the toy configs' backbone).
        steps (int): Optimisation steps.
        batch_size (int): Crops per step.
        lr (float): Peak learning rate.
        crop (Sequence[int]): Crop size (h, w).
        seed (int): Seed of the initialisation and the batches.
        jitter (float): Colour-jitter strength (:func:`colour_jitter`).
        grey_prob (float): Random-grayscale probability.
        progress (bool): Show a progress bar.

    Returns:
        nn.Module: The trained ``MixVisionTransformer`` (eval mode).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TagClassifier(build_mit(backbone_cfg), stage_channels(backbone_cfg))
        rng = np.random.default_rng(seed)
        generator = torch.Generator().manual_seed(seed)
        optimizer, scheduler = adamw_cosine(model.parameters(), lr, steps, weight_decay=0.01)
        tags = torch.from_numpy(corpus.tags)
        model.train()
        bar = progress_steps(steps, 'MiT', progress)
        for step in bar:
            images, idx = crop_batch(corpus.images, rng, batch_size, crop)
            images = colour_jitter(images, generator, jitter, grey_prob)
            loss = F.binary_cross_entropy_with_logits(model(normalise_imagenet(images)), tags[idx])
            optimizer_step(loss, optimizer, scheduler)
            if step % 10 == 0:
                set_postfix(bar, tags=loss.item())
    return model.backbone.eval()


def save_mit_checkpoint(backbone: nn.Module, path: str, meta: Dict) -> None:
    """Write an mmseg-layout checkpoint (``state_dict`` with the backbone's own key names).

    Args:
        backbone (nn.Module): The encoder.
        path (str): Output file.
        meta (dict): Plain-data provenance (recipe, key).
    """
    torch.save({'state_dict': {k: v.detach().clone() for k, v in backbone.state_dict().items()},
                'meta': meta}, path)
