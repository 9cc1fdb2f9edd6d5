"""Registered data transforms of mmseg-diffuda."""
from .loading import LoadImage, LoadSegLabel

__all__ = ['LoadImage', 'LoadSegLabel']
