# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""SYNTHIA-RAND-CITYSCAPES (Ros et al., CVPR 2016) as a source domain."""
from typing import Dict, Optional

from mmseg.datasets import BaseSegDataset, CityscapesDataset
from mmseg.registry import DATASETS

from .checks import DATASET_LAYOUTS, DataLayoutMixin

#: SYNTHIA class id (last channel of ``GT/LABELS/*.png``) -> Cityscapes trainId. Ids follow
#: the README of SYNTHIA-RAND-CITYSCAPES; the table is the one of DAFormer's
#: ``tools/convert_datasets/synthia.py`` (Hoyer et al., CVPR 2022). terrain (16), truck (18) and
#: train (20) never occur in SYNTHIA, which is why SYNTHIA->Cityscapes reports mIoU16/mIoU13.
SYNTHIA_ID_TO_TRAINID: Dict[int, int] = {
    3: 0,  # road
    4: 1,  # sidewalk
    2: 2,  # building
    21: 3,  # wall
    5: 4,  # fence
    7: 5,  # pole
    15: 6,  # traffic light
    9: 7,  # traffic sign
    6: 8,  # vegetation
    16: 9,  # terrain
    1: 10,  # sky
    10: 11,  # pedestrian -> person
    17: 12,  # rider
    8: 13,  # car
    18: 14,  # truck
    19: 15,  # bus
    20: 16,  # train
    12: 17,  # motorcycle
    11: 18,  # bicycle
}

#: SYNTHIA ids without a Cityscapes class: void (0), parking-slot (13), road-work (14) and
#: lanemarking (22). They become 255 (ignored); ids above 22 do not exist in SYNTHIA.
SYNTHIA_IGNORED_IDS = (0, 13, 14, 22)


@DATASETS.register_module()
class SynthiaDataset(DataLayoutMixin, BaseSegDataset):
    """SYNTHIA-RAND-CITYSCAPES with labels converted to the 19 Cityscapes trainIds.

    ``tools/dataset_converters/synthia.py`` reads ``GT/LABELS/*.png`` (16-bit, class id in the
    last channel) and writes ``GT/LABELS/<name>_labelTrainIds.png`` with
    :data:`SYNTHIA_ID_TO_TRAINID` plus the rare class sampling statistics, following DAFormer
    (Hoyer et al., CVPR 2022). All 9,400 frames are used for training.

    Layout below ``data_root``: ``RGB/<name>.png``, ``GT/LABELS/<name>_labelTrainIds.png``.

    Args:
        img_suffix (str): Suffix of the images. Defaults to '.png'.
        seg_map_suffix (str): Suffix of the trainId label maps.
            Defaults to '_labelTrainIds.png'.
        data_prefix (dict, optional): Image and label folders below ``data_root``.
            Defaults to ``dict(img_path='RGB', seg_map_path='GT/LABELS')``.
        **kwargs: Further arguments of :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = CityscapesDataset.METAINFO
    LAYOUT = DATASET_LAYOUTS['SynthiaDataset']

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '_labelTrainIds.png',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix or dict(img_path='RGB', seg_map_path='GT/LABELS'),
            **kwargs)
