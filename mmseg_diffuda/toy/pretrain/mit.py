"""Tiny MiT pretrained as the toy analogue of ImageNet classification.

SegFormer's MiT encoders (Xie et al., NeurIPS 2021) are pretrained by ImageNet-1k image
classification, and DAFormer (Hoyer et al., CVPR 2022) starts from them and keeps a frozen copy for
its ImageNet feature distance. The toy analogue classifies corpus images (image-level tags only, no
mask): a multi-label head predicts which of the 19 classes a caption names and a second head the
image's style, both on globally pooled features of the four MiT stages. Only the encoder is kept,
saved as ``{'state_dict': backbone.state_dict(), 'meta': ...}`` with mmseg's ``MixVisionTransformer``
key names, which is what ``init_cfg=dict(type='Pretrained', checkpoint=...)`` loads (the converted
ImageNet files mmseg hosts have the same layout).
"""
from typing import Dict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .corpus import CORPUS_STYLES, TAG_CLASSES, Corpus
from .training import (adamw_cosine, crop_batch, optimizer_step, progress_steps,
                       set_postfix)

#: ImageNet statistics (RGB), as the toy configs' data preprocessors normalise MiT inputs.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


class TagClassifier(nn.Module):
    """MiT encoder + linear heads on the pooled features of every stage.

    Args:
        backbone (nn.Module): An mmseg ``MixVisionTransformer``.
        stage_channels (Sequence[int]): Output channels of its stages.
    """

    def __init__(self, backbone: nn.Module, stage_channels) -> None:
        super().__init__()
        self.backbone = backbone
        width = int(sum(stage_channels))
        self.tags = nn.Linear(width, len(TAG_CLASSES))
        self.style = nn.Linear(width, len(CORPUS_STYLES))

    def forward(self, x: torch.Tensor):
        pooled = torch.cat([f.mean(dim=(2, 3)) for f in self.backbone(x)], dim=1)
        return self.tags(pooled), self.style(pooled)


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
                 crop, seed: int, progress: bool = False) -> nn.Module:
    """Train the MiT of ``backbone_cfg`` on image-level corpus tags; return the encoder.

    Loss: binary cross-entropy on the 19 class tags + cross-entropy on the style, AdamW with
    warm-up and cosine decay, random crops and flips.

    Args:
        corpus (Corpus): The pretraining corpus.
        backbone_cfg (dict): mmseg ``MixVisionTransformer`` config (the toy configs' backbone).
        steps (int): Optimisation steps.
        batch_size (int): Crops per step.
        lr (float): Peak learning rate.
        crop (Sequence[int]): Crop size (h, w).
        seed (int): Seed of the initialisation and the batches.
        progress (bool): Show a progress bar.

    Returns:
        nn.Module: The trained ``MixVisionTransformer`` (eval mode).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TagClassifier(build_mit(backbone_cfg), stage_channels(backbone_cfg))
        rng = np.random.default_rng(seed)
        optimizer, scheduler = adamw_cosine(model.parameters(), lr, steps, weight_decay=0.01)
        styles = torch.from_numpy(corpus.styles)
        tags = torch.from_numpy(corpus.tags)
        model.train()
        bar = progress_steps(steps, 'MiT', progress)
        for step in bar:
            images, idx = crop_batch(corpus.images, rng, batch_size, crop)
            tag_logits, style_logits = model(normalise_imagenet(images))
            loss_tags = F.binary_cross_entropy_with_logits(tag_logits, tags[idx])
            loss_style = F.cross_entropy(style_logits, styles[idx])
            loss = loss_tags + loss_style
            optimizer_step(loss, optimizer, scheduler)
            if step % 10 == 0:
                set_postfix(bar, tags=loss_tags.item(), style=loss_style.item())
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
