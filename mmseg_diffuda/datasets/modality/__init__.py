"""Target-modality datasets of MADM (depth, infrared, event) and the Cityscapes source remapped
to their class sets."""
from .cityscapes import CityscapesMADM9Dataset, CityscapesMADM11Dataset
from .classes import (CITYSCAPES_TO_MADM, MADM_DEPTH_EVENT_CLASSES, MADM_INFRARED_CLASSES,
                      cityscapes_label_map, label_map_by_name)
from .deliver import DELIVER_CLASSES, DELIVER_TO_MADM, DeliverDepthDataset
from .dsec import DSECEventDataset
from .fmb import FMB_CLASSES, FMB_TO_MADM, FMBInfraredDataset

__all__ = [
    'CITYSCAPES_TO_MADM', 'CityscapesMADM11Dataset', 'CityscapesMADM9Dataset', 'DELIVER_CLASSES',
    'DELIVER_TO_MADM', 'DSECEventDataset', 'DeliverDepthDataset', 'FMBInfraredDataset',
    'FMB_CLASSES', 'FMB_TO_MADM', 'MADM_DEPTH_EVENT_CLASSES', 'MADM_INFRARED_CLASSES',
    'cityscapes_label_map', 'label_map_by_name'
]
