"""mmseg-diffuda: diffusion- and language-based domain-adaptive segmentation for MMSegmentation 1.x.

Importing the package registers every dataset, transform, model, metric and hook into
MMSegmentation's registries, so configs only need::

    custom_imports = dict(imports=['mmseg_diffuda'], allow_failed_imports=False)
"""
from . import datasets, engine, evaluation, models  # noqa: F401  (registration side effects)
from .version import __version__

__all__ = ['__version__']
