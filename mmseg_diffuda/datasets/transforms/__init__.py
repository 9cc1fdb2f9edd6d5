"""Registered data transforms of mmseg-diffuda."""
from .depth import LoadDepthFromFile
from .loading import LoadImage, LoadSegLabel
from .modality import LoadModalityImage, ResizeForEvaluation, ToThreeChannels

__all__ = [
    'LoadDepthFromFile', 'LoadImage', 'LoadSegLabel', 'LoadModalityImage', 'ResizeForEvaluation',
    'ToThreeChannels'
]
