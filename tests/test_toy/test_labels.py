"""Class tables of the toy data: Cityscapes ids, palette and the Cityscapes -> DELIVER mapping."""
import numpy as np

from mmseg_diffuda.toy import (CITYSCAPES_TO_DELIVER, DELIVER_CLASSES, cityscapes_palette,
                               deliver_value_lut)
from mmseg_diffuda.toy.labels import ID


def test_scene_ids_are_cityscapes_label_ids():
    # hand-copied from the Cityscapes label table (labelId column)
    expected = {
        'ego vehicle': 1, 'road': 7, 'sidewalk': 8, 'building': 11, 'wall': 12, 'fence': 13,
        'pole': 17, 'traffic light': 19, 'traffic sign': 20, 'vegetation': 21, 'terrain': 22,
        'sky': 23, 'person': 24, 'rider': 25, 'car': 26, 'truck': 27, 'bus': 28, 'motorcycle': 32,
        'bicycle': 33
    }
    assert ID == expected


def test_cityscapes_palette_entries():
    palette = cityscapes_palette()
    assert palette.shape == (256, 3) and palette.dtype == np.uint8
    assert tuple(palette[7]) == (128, 64, 128)  # road
    assert tuple(palette[26]) == (0, 0, 142)  # car
    assert tuple(palette[23]) == (70, 130, 180)  # sky
    assert not palette[34:].any()


def test_deliver_order_and_mapping():
    assert len(DELIVER_CLASSES) == 25
    assert DELIVER_CLASSES[0] == 'Building' and DELIVER_CLASSES[24] == 'Truck'
    lut = deliver_value_lut()
    # file value = DELIVER index + 1, indices counted by hand in DELIVER's class list
    assert lut[7] == 7  # road -> Road (6)
    assert lut[8] == 8  # sidewalk -> SideWalk (7)
    assert lut[11] == 1  # building -> Building (0)
    assert lut[23] == 13  # sky -> Sky (12)
    assert lut[24] == 4 and lut[25] == 4  # person, rider -> Pedestrian (3)
    assert lut[26] == 10  # car -> Cars (9)
    assert lut[32] == 23 and lut[33] == 23  # motorcycle, bicycle -> TwoWheeler (22)
    assert lut[19] == 18 and lut[20] == 12  # traffic light (17), traffic sign (11)
    assert lut[22] == 22  # terrain -> Terrain (21)
    assert lut[0] == 0 and lut[1] == 0  # unlabeled, ego vehicle -> unlabelled
    assert set(CITYSCAPES_TO_DELIVER.values()) <= set(DELIVER_CLASSES)
