"""Backbones."""
from .diffusion_features import DiffusionFeatureBackbone
from .inter_coder import (ConcatConvFusion, InterCoderConnection, InterCoderDiffusionBackbone,
                          ProjectAddFusion)
from .stable_diffusion import StableDiffusionBackbone

__all__ = [
    'StableDiffusionBackbone', 'ConcatConvFusion', 'InterCoderConnection',
    'InterCoderDiffusionBackbone', 'ProjectAddFusion', 'DiffusionFeatureBackbone'
]
