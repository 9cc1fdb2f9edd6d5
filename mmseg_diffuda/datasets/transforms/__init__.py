"""Registered data transforms of mmseg-diffuda."""
from .loading import LoadImage, LoadSegLabel
from .modality import LoadModalityImage, ResizeForEvaluation

__all__ = ['LoadImage', 'LoadSegLabel', 'LoadModalityImage', 'ResizeForEvaluation']
