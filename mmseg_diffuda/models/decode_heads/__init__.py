"""Decode heads."""
from .daformer_head import ASPPFusion, DAFormerHead, LinearEmbedding

__all__ = ['ASPPFusion', 'DAFormerHead', 'LinearEmbedding']
