"""Decode heads."""
from .daformer_head import ASPPFusion, DAFormerHead, LinearEmbedding
from .language_conditioned_head import LanguageConditionedHead

__all__ = ['ASPPFusion', 'DAFormerHead', 'LinearEmbedding', 'LanguageConditionedHead']
