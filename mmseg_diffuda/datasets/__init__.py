"""Datasets (registered in mmseg DATASETS), UDA pairing, rare class sampling and transforms."""
from . import transforms  # noqa: F401
