"""Datasets (registered in mmseg DATASETS), UDA pairing, rare class sampling and transforms."""
from . import transforms  # noqa: F401
from .gta5 import GTA5Dataset
from .mapillary import MapillaryDataset
from .modality import (CityscapesMADM9Dataset, CityscapesMADM11Dataset, DeliverDepthDataset,
                       DSECEventDataset, FMBInfraredDataset)
from .rare_class_sampling import RareClassSampler
from .resumable_infinite_sampler import ResumableInfiniteSampler
from .seeded_sample_dataset import SeededSampleDataset
from .synthia import SynthiaDataset
from .target_only_dataset import TargetOnlyDataset
from .uda_dataset import UDADataset

__all__ = [
    'GTA5Dataset', 'SynthiaDataset', 'UDADataset', 'RareClassSampler', 'CityscapesMADM11Dataset',
    'CityscapesMADM9Dataset', 'DeliverDepthDataset', 'FMBInfraredDataset', 'DSECEventDataset',
    'TargetOnlyDataset', 'MapillaryDataset', 'ResumableInfiniteSampler', 'SeededSampleDataset'
]
