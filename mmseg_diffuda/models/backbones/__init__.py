"""Backbones."""
from .stable_diffusion import StableDiffusionBackbone

__all__ = ['StableDiffusionBackbone']
