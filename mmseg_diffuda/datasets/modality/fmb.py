# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""FMB infrared (Liu et al., "Multi-interactive Feature Learning and a Full-time Multi-modality
Benchmark for Image Fusion and Segmentation", ICCV 2023) as MADM's infrared target, with its 14
classes converted to MADM's 9."""
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
from mmseg.registry import DATASETS
from PIL import Image

from ..checks import DatasetLayout
from ..label_conversion import map_label_ids, train_ids_path, write_train_ids
from .base import ModalityDataset
from .classes import (IGNORE_INDEX, MADM_INFRARED_CLASSES, MADM_INFRARED_METAINFO,
                      label_map_by_name)

#: FMB label values (index = value; 0 = unlabelled). The names are inferred from MADM's test
#: ``label_convert`` (official ``config_files/common/data/cityscapes_rgb_to_fmb_9_infrared_
#: semseg.py``) and the FMB class list of the SegMiF release; only the mapping below matters.
FMB_CLASSES = ('unlabelled', 'road', 'sidewalk', 'building', 'traffic lamp', 'traffic sign',
               'vegetation', 'sky', 'person', 'car', 'truck', 'bus', 'motorcycle', 'bicycle',
               'pole')

#: FMB class -> MADM class (None: ignored), MADM's test ``label_convert`` by name: 0 -> 255,
#: lamps and signs -> traffic sign, every vehicle -> car.
FMB_TO_MADM: Dict[str, Optional[str]] = {
    'unlabelled': None,
    'road': 'road',
    'sidewalk': 'sidewalk',
    'building': 'building',
    'traffic lamp': 'traffic sign',
    'traffic sign': 'traffic sign',
    'vegetation': 'vegetation',
    'sky': 'sky',
    'person': 'person',
    'car': 'car',
    'truck': 'car',
    'bus': 'car',
    'motorcycle': 'car',
    'bicycle': 'car',
    'pole': 'pole',
}

#: FMB splits; each has ``Infrared/`` (and ``Visible/``) images and ``Label/`` maps.
FMB_SPLITS = ('train', 'test')

FMB_LAYOUT = DatasetLayout(
    name='FMB',
    tree=('  {train,test}/Infrared/<name>.png                (infrared images)\n'
          '  {train,test}/Label/<name>.png                   (labels, FMB values 0..14, '
          '0 = unlabelled)\n'
          '  {train,test}/Label/<name>_labelTrainIds.png     (MADM 9-class ids, written by the '
          'converter)'),
    download='https://github.com/JinyuanLiu-CV/SegMiF (FMB dataset link in its README)',
    converter='tools/dataset_converters/fmb.py')


def fmb_value_to_madm(classes: Sequence[str] = MADM_INFRARED_CLASSES) -> Dict[int, int]:
    """Return the FMB label value -> MADM id table (255 stays 255).

    Args:
        classes (Sequence[str]): The MADM class set. Defaults to the 9 infrared classes.

    Returns:
        dict[int, int]: Values 0..14 and 255 -> MADM id or 255.
    """
    table = label_map_by_name(FMB_CLASSES, FMB_TO_MADM, classes)
    table[IGNORE_INDEX] = IGNORE_INDEX
    return table


def fmb_label_to_madm(raw: np.ndarray, path: str) -> np.ndarray:
    """Convert an FMB label map (as read by PIL) to MADM 9-class ids.

    Args:
        raw (np.ndarray): The single-channel label map, shape (H, W).
        path (str): The file (named in errors).

    Returns:
        np.ndarray: uint8 MADM ids, shape (H, W).

    Raises:
        ValueError: If the map is not single-channel or holds values that are no FMB class.
    """
    if raw.ndim != 2:
        raise ValueError(
            f'FMB label {path!r} has shape {raw.shape}: expected a single-channel map of FMB '
            'class values (Label/*.png, not a colour visualisation); re-extract it from the FMB '
            'archive.')
    return map_label_ids(raw, fmb_value_to_madm(), path,
                         'FMB (mmseg_diffuda.datasets.modality.fmb)')


def convert_fmb_label(rel_path: str, data_root: str, out_root: str) -> None:
    """Write ``<split>/Label/<name>_labelTrainIds.png`` (MADM ids) next to an FMB label.

    Args:
        rel_path (str): Label path relative to ``data_root`` (``<split>/Label/<name>.png``).
        data_root (str): The FMB data root.
        out_root (str): Output root; the converted map goes to the same relative folder.

    Returns:
        None: Target labels need no rare class sampling statistics.
    """
    path = osp.join(data_root, rel_path)
    with Image.open(path) as image:
        raw = np.asarray(image)
    write_train_ids(fmb_label_to_madm(raw, path),
                    osp.join(out_root, train_ids_path(rel_path, '.png')))


@DATASETS.register_module()
class FMBInfraredDataset(ModalityDataset):
    """FMB infrared images with labels in MADM's 9 infrared classes.

    MADM's Cityscapes RGB -> FMB infrared benchmark (Xia et al., NeurIPS 2024): train (1,220
    images, unlabelled for adaptation) and test (280 images). The layout is FMB's release as
    MADM's loader reads it (official ``data/dataset/cross_modality_dataset.py`` with
    ``data/json_file/Cityscapes_RGB_to_FMB_Infrared_{train,test}.json``):
    ``<split>/Infrared/<name>.png`` and ``<split>/Label/<name>.png``.

    Run ``python tools/dataset_converters/fmb.py <data_root>`` once to write
    ``<split>/Label/<name>_labelTrainIds.png`` with MADM ids (:data:`FMB_TO_MADM`,
    unlabelled -> 255). Load the images with ``LoadModalityImage`` (single-channel infrared is
    repeated to 3 channels, as MADM does).

    Args:
        img_suffix (str): Image suffix. Defaults to '.png'.
        seg_map_suffix (str): Suffix of the converted labels. Defaults to '_labelTrainIds.png'.
        data_prefix (dict, optional): Image and label folders below ``data_root``; without
            ``seg_map_path`` the set is unlabelled. Defaults to
            ``dict(img_path='test/Infrared', seg_map_path='test/Label')``.
        **kwargs: Further arguments of :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = MADM_INFRARED_METAINFO
    LAYOUT = FMB_LAYOUT

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '_labelTrainIds.png',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix or dict(img_path='test/Infrared', seg_map_path='test/Label'),
            **kwargs)
