# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""DELIVER depth (Zhang et al., "Delivering Arbitrary-Modal Semantic Segmentation", CVPR 2023)
as MADM's depth target, with its 25 classes converted to MADM's 11."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmseg.registry import DATASETS
from PIL import Image

from ..checks import DatasetLayout
from ..label_conversion import map_label_ids, train_ids_path, write_train_ids
from .base import FolderPair, ModalityDataset
from .classes import (IGNORE_INDEX, MADM_DEPTH_EVENT_CLASSES, MADM_DEPTH_EVENT_METAINFO,
                      label_map_by_name)

#: DELIVER's 25 classes in DELIVER's order (index = class id; label files hold id + 1), as in
#: the class list of the official DELIVER loader (``semseg/datasets/deliver.py`` of
#: jamycheung/DELIVER) and MADM's test ``label_convert``.
DELIVER_CLASSES = ('Building', 'Fence', 'Other', 'Pedestrian', 'Pole', 'RoadLine', 'Road',
                   'SideWalk', 'Vegetation', 'Cars', 'Wall', 'TrafficSign', 'Sky', 'Ground',
                   'Bridge', 'RailTrack', 'GroundRail', 'TrafficLight', 'Static', 'Dynamic',
                   'Water', 'Terrain', 'TwoWheeler', 'Bus', 'Truck')

#: DELIVER class -> MADM class (None: ignored), MADM's test ``label_convert`` of
#: ``config_files/common/data/cityscapes_rgb_to_deliver_11_depth_semseg.py`` by name: lane
#: markings are road, traffic lights join traffic signs, terrain joins vegetation and every
#: vehicle joins car, as for the Cityscapes source.
DELIVER_TO_MADM: Dict[str, Optional[str]] = {
    'Building': 'building',
    'Fence': 'fence',
    'Other': None,
    'Pedestrian': 'person',
    'Pole': 'pole',
    'RoadLine': 'road',
    'Road': 'road',
    'SideWalk': 'sidewalk',
    'Vegetation': 'vegetation',
    'Cars': 'car',
    'Wall': 'wall',
    'TrafficSign': 'traffic sign',
    'Sky': 'sky',
    'Ground': None,
    'Bridge': None,
    'RailTrack': None,
    'GroundRail': None,
    'TrafficLight': 'traffic sign',
    'Static': None,
    'Dynamic': None,
    'Water': None,
    'Terrain': 'vegetation',
    'TwoWheeler': 'car',
    'Bus': 'car',
    'Truck': 'car',
}

#: DELIVER's weather/lighting conditions (directory names); MADM uses all five.
DELIVER_CONDITIONS = ('cloud', 'fog', 'night', 'rain', 'sun')
DELIVER_SPLITS = ('train', 'val', 'test')
#: Suffix of DELIVER's semantic label files (front camera, the only one MADM uses).
DELIVER_SEMANTIC_SUFFIX = '_semantic_front.png'

DELIVER_LAYOUT = DatasetLayout(
    name='DELIVER',
    tree=('  depth/<condition>/<split>/<sequence>/<frame>_depth_front.png       (depth images)\n'
          '  semantic/<condition>/<split>/<sequence>/<frame>_semantic_front.png (labels: DELIVER '
          'class id + 1 in the red channel, 0 = unlabelled)\n'
          '  semantic/.../<frame>_semantic_front_labelTrainIds.png              (MADM 11-class '
          'ids, written by the converter)\n'
          '  conditions: cloud, fog, night, rain, sun; splits: train, val, test'),
    download='https://github.com/jamycheung/DELIVER (dataset link in its README)',
    converter='tools/dataset_converters/deliver.py')


def deliver_value_to_madm(classes: Sequence[str] = MADM_DEPTH_EVENT_CLASSES) -> Dict[int, int]:
    """Return the DELIVER label-file value -> MADM id table.

    File values are ``DELIVER class id + 1``; 0 (unlabelled) maps to 255 explicitly. MADM
    subtracts 1 on a uint8 tensor, so there 0 wraps to 255 (official
    ``data/dataset/cross_modality_dataset.py``, ``load_aug_data``); 255 stays 255.

    Args:
        classes (Sequence[str]): The MADM class set. Defaults to the 11 depth classes.

    Returns:
        dict[int, int]: Values 0, 1..25 and 255 -> MADM id or 255.
    """
    by_class = label_map_by_name(DELIVER_CLASSES, DELIVER_TO_MADM, classes)
    table = {class_id + 1: madm_id for class_id, madm_id in by_class.items()}
    table.update({0: IGNORE_INDEX, IGNORE_INDEX: IGNORE_INDEX})
    return table


def deliver_label_to_madm(raw: np.ndarray, path: str) -> np.ndarray:
    """Convert a DELIVER semantic image (as read by PIL) to MADM 11-class ids.

    Args:
        raw (np.ndarray): The label image, (H, W, 3|4) RGB(A) with the value in the red
            channel, or (H, W) for a single-channel file.
        path (str): The file (named in errors).

    Returns:
        np.ndarray: uint8 MADM ids, shape (H, W).

    Raises:
        ValueError: If the image has an unexpected shape or holds values that are no DELIVER
            class.
    """
    if raw.ndim == 3 and raw.shape[2] in (3, 4):
        values = raw[:, :, 0]  # red channel, as MADM reads it (PIL RGB, channel 0)
    elif raw.ndim == 2:
        values = raw
    else:
        raise ValueError(
            f'DELIVER label {path!r} has shape {raw.shape}: expected an RGB semantic image with '
            'the class id + 1 in the red channel; re-extract it from the DELIVER archive.')
    return map_label_ids(values, deliver_value_to_madm(), path,
                         'DELIVER (class id + 1, mmseg_diffuda.datasets.modality.deliver)')


def convert_deliver_label(rel_path: str, data_root: str, out_root: str) -> None:
    """Write ``<frame>_semantic_front_labelTrainIds.png`` (MADM ids) next to a DELIVER label.

    Args:
        rel_path (str): Label path relative to ``data_root``
            (``semantic/<cond>/<split>/<seq>/<frame>_semantic_front.png``).
        data_root (str): The DELIVER data root.
        out_root (str): Output root; the converted map goes to the same relative folder.

    Returns:
        None: Target labels need no rare class sampling statistics.
    """
    path = osp.join(data_root, rel_path)
    with Image.open(path) as image:
        raw = np.asarray(image)
    write_train_ids(deliver_label_to_madm(raw, path),
                    osp.join(out_root, train_ids_path(rel_path, '.png')))


@DATASETS.register_module()
class DeliverDepthDataset(ModalityDataset):
    """DELIVER depth images with labels in MADM's 11 depth/event classes.

    MADM's Cityscapes RGB -> DELIVER depth benchmark (Xia et al., NeurIPS 2024): the front
    camera of all five conditions; train (3,983 frames, unlabelled for adaptation) and test
    (1,897 frames) splits. The layout is the one of DELIVER's release as MADM's loader reads it
    (official ``data/dataset/cross_modality_dataset.py`` with the split lists
    ``data/json_file/Cityscapes_RGB_to_DELIVER_Depth_{train,test}.json``):
    ``depth/<cond>/<split>/<seq>/<frame>_depth_front.png`` and
    ``semantic/<cond>/<split>/<seq>/<frame>_semantic_front.png``.

    DELIVER labels hold the DELIVER class id + 1 in the red channel; run
    ``python tools/dataset_converters/deliver.py <data_root>`` once to write
    ``<frame>_semantic_front_labelTrainIds.png`` with MADM ids (:data:`DELIVER_TO_MADM`,
    unlabelled -> 255). Depth images are single-channel; load them with ``LoadModalityImage``,
    which repeats them to 3 channels as MADM does.

    Args:
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        conditions (Sequence[str]): Conditions to use. Defaults to all five
            (:data:`DELIVER_CONDITIONS`), as MADM.
        img_suffix (str): Image suffix. Defaults to '_depth_front.png' (another DELIVER
            modality, e.g. '_rgb_front.png' with ``data_prefix['img_path']='img'``, works alike).
        seg_map_suffix (str): Suffix of the converted labels.
            Defaults to '_semantic_front_labelTrainIds.png'.
        data_prefix (dict, optional): Modality and label folders below ``data_root``; without
            ``seg_map_path`` the set is unlabelled. Defaults to
            ``dict(img_path='depth', seg_map_path='semantic')``.
        **kwargs: Further arguments of :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = MADM_DEPTH_EVENT_METAINFO
    LAYOUT = DELIVER_LAYOUT

    def __init__(self,
                 split: str = 'train',
                 conditions: Sequence[str] = DELIVER_CONDITIONS,
                 img_suffix: str = '_depth_front.png',
                 seg_map_suffix: str = '_semantic_front_labelTrainIds.png',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in DELIVER_SPLITS:
            raise ValueError(f'DeliverDepthDataset: split {split!r} is not a DELIVER split '
                             f'{DELIVER_SPLITS}.')
        unknown = [c for c in conditions if c not in DELIVER_CONDITIONS]
        if unknown or not conditions:
            raise ValueError(f'DeliverDepthDataset: conditions {list(conditions)} must be a '
                             f'non-empty subset of {DELIVER_CONDITIONS}.')
        self.split = split
        self.conditions = tuple(conditions)
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix or dict(img_path='depth', seg_map_path='semantic'),
            **kwargs)

    def folder_pairs(self) -> List[FolderPair]:
        """Return ``(<img_path>/<cond>/<split>, <seg_map_path>/<cond>/<split>)`` per condition.

        Returns:
            list[tuple[str, str | None]]: One pair per condition.
        """
        img_root = self.data_prefix.get('img_path', '')
        seg_root = self.data_prefix.get('seg_map_path')
        return [(osp.join(img_root, cond, self.split),
                 osp.join(seg_root, cond, self.split) if seg_root else None)
                for cond in self.conditions]
