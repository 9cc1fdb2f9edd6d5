"""Class ids used by the toy scenes and the label tables of the formats the toy data reproduces.

Scene labels are Cityscapes *label ids* (Cordts et al., CVPR 2016), read by name from
``cityscapesscripts.helpers.labels`` so no id or colour is written by hand here. GTA5 (Richter et
al., ECCV 2016) stores the same ids in its label PNGs, so both the source and the Cityscapes-format
target use them unchanged.

The DELIVER-format target (Zhang et al., CVPR 2023) uses DELIVER's own 25 classes. Its semantic PNGs
hold ``class index + 1`` in the red channel (0 = unlabelled), as CARLA's raw semantic camera does.
The toy scenes contain only Cityscapes classes, so this module maps them onto DELIVER classes:

====================  ============  =========================================================
Cityscapes class      DELIVER       note
====================  ============  =========================================================
road                  Road          painted lane markings become RoadLine (see below)
sidewalk              SideWalk
building              Building
wall                  Wall
fence                 Fence
pole                  Pole
traffic light         TrafficLight
traffic sign          TrafficSign
vegetation            Vegetation
terrain               Terrain
sky                   Sky
person                Pedestrian
rider                 Pedestrian    choice: MADM's 11-class protocol merges Cityscapes rider
                                    into person, so this keeps source and target aligned
car                   Cars
truck                 Truck
bus                   Bus
motorcycle            TwoWheeler
bicycle               TwoWheeler
ego vehicle           (unlabelled)  never drawn in DELIVER scenes (CARLA's camera sees no hood)
====================  ============  =========================================================

Road pixels that carry a painted lane marking are written as DELIVER ``RoadLine``, because DELIVER
labels markings separately while Cityscapes (and GTA5) label them ``road``.
"""
from typing import Dict, Tuple

import numpy as np
from cityscapesscripts.helpers.labels import labels as _CS_LABELS
from cityscapesscripts.helpers.labels import name2label


def label_id(name: str) -> int:
    """Return the Cityscapes label id of a class name.

    Args:
        name (str): Cityscapes class name, e.g. ``'traffic sign'``.

    Returns:
        int: The label id (0..33).
    """
    return name2label[name].id


#: Cityscapes classes the toy scenes draw, by name.
SCENE_CLASSES: Tuple[str, ...] = (
    'ego vehicle', 'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
    'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car', 'truck', 'bus',
    'motorcycle', 'bicycle')

#: Label ids used by the scene generator (read from cityscapesscripts).
ID: Dict[str, int] = {name: label_id(name) for name in SCENE_CLASSES}

#: Largest valid Cityscapes label id (label ids run 0..33; license plate is -1 and never drawn).
MAX_LABEL_ID: int = max(lab.id for lab in _CS_LABELS)

#: The 25 DELIVER classes in DELIVER's order (index = class id, file value = index + 1).
DELIVER_CLASSES: Tuple[str, ...] = ('Building', 'Fence', 'Other', 'Pedestrian', 'Pole', 'RoadLine',
                                    'Road', 'SideWalk', 'Vegetation', 'Cars', 'Wall', 'TrafficSign',
                                    'Sky', 'Ground', 'Bridge', 'RailTrack', 'GroundRail',
                                    'TrafficLight', 'Static', 'Dynamic', 'Water', 'Terrain',
                                    'TwoWheeler', 'Bus', 'Truck')

#: Cityscapes class name -> DELIVER class name (the table in the module docstring).
CITYSCAPES_TO_DELIVER: Dict[str, str] = {
    'road': 'Road',
    'sidewalk': 'SideWalk',
    'building': 'Building',
    'wall': 'Wall',
    'fence': 'Fence',
    'pole': 'Pole',
    'traffic light': 'TrafficLight',
    'traffic sign': 'TrafficSign',
    'vegetation': 'Vegetation',
    'terrain': 'Terrain',
    'sky': 'Sky',
    'person': 'Pedestrian',
    'rider': 'Pedestrian',
    'car': 'Cars',
    'truck': 'Truck',
    'bus': 'Bus',
    'motorcycle': 'TwoWheeler',
    'bicycle': 'TwoWheeler',
}


def deliver_value_lut() -> np.ndarray:
    """Lookup table from Cityscapes label id to the DELIVER file value (class index + 1).

    Returns:
        np.ndarray: uint8 array of length 256; ids without a DELIVER class map to 0 (unlabelled).
    """
    lut = np.zeros(256, dtype=np.uint8)
    for cs_name, deliver_name in CITYSCAPES_TO_DELIVER.items():
        lut[label_id(cs_name)] = DELIVER_CLASSES.index(deliver_name) + 1
    return lut


def cityscapes_palette() -> np.ndarray:
    """Cityscapes colour palette indexed by label id, as stored in GTA5 'P'-mode label PNGs.

    Returns:
        np.ndarray: uint8 array of shape (256, 3); entries beyond the label ids are black.
    """
    palette = np.zeros((256, 3), dtype=np.uint8)
    for lab in _CS_LABELS:
        if 0 <= lab.id < 256:
            palette[lab.id] = lab.color
    return palette
