"""Building blocks of the DAFormer/MIC self-training step (EMA teacher, ClassMix, strong
augmentation, pseudo-labels, block masking, weighted loss, feature distance, weight checks)."""
from .block_mask import BlockMasking
from .class_mix import get_class_masks, mix
from .diffusion_weights import DiffusionWeightsNotFoundError, build_sd_components
from .ema import EMATeacher
from .feature_distance import (CITYSCAPES_THING_CLASSES, downscale_label_ratio,
                               feature_distance_loss)
from .label_palette import LabelPalette, resolve_palette
from .pseudo_label import PseudoLabel, pseudo_label_from_logits
from .seg_loss import pixel_weighted_head_loss
from .strong_aug import StrongAugmentation, StrongAugParams, blur_kernel_size
from .text_embeddings import OpenCLIPClassEmbeddings, OpenCLIPWeightsNotFoundError
from .weights import check_init_cfg_files, check_pretrained_exists

__all__ = [
    'BlockMasking', 'CITYSCAPES_THING_CLASSES', 'EMATeacher', 'PseudoLabel', 'StrongAugParams',
    'StrongAugmentation', 'blur_kernel_size', 'check_init_cfg_files', 'check_pretrained_exists',
    'downscale_label_ratio',
    'feature_distance_loss', 'get_class_masks', 'mix', 'pixel_weighted_head_loss',
    'pseudo_label_from_logits', 'DiffusionWeightsNotFoundError', 'build_sd_components',
    'LabelPalette', 'resolve_palette', 'OpenCLIPClassEmbeddings', 'OpenCLIPWeightsNotFoundError'
]
