"""MADM class sets and label conversion tables against MADM's official number lists."""
import numpy as np
import pytest

from mmseg_diffuda.datasets.modality.classes import (MADM_DEPTH_EVENT_CLASSES,
                                                     MADM_DEPTH_EVENT_METAINFO,
                                                     MADM_INFRARED_CLASSES,
                                                     MADM_INFRARED_METAINFO,
                                                     cityscapes_label_map, label_map_by_name)
from mmseg_diffuda.datasets.modality.deliver import (DELIVER_CLASSES, DELIVER_CONDITIONS,
                                                     deliver_label_to_madm,
                                                     deliver_value_to_madm)
from mmseg_diffuda.datasets.modality.fmb import fmb_label_to_madm, fmb_value_to_madm
from .modality_trees import (DELIVER_MADM, DELIVER_RAW, FMB_MADM, FMB_RAW, MADM_CITYSCAPES_TO_9,
                             MADM_CITYSCAPES_TO_11, MADM_DELIVER_CONVERT, MADM_FMB_CONVERT,
                             MADM_PALETTE_9, MADM_PALETTE_11, deliver_semantic)


def test_class_sets_and_palettes_are_madms():
    assert MADM_DEPTH_EVENT_CLASSES == ('sky', 'building', 'fence', 'person', 'pole', 'road',
                                        'sidewalk', 'vegetation', 'car', 'wall', 'traffic sign')
    assert MADM_INFRARED_CLASSES == ('sky', 'building', 'person', 'pole', 'road', 'sidewalk',
                                     'vegetation', 'car', 'traffic sign')
    flat = [v for colour in MADM_DEPTH_EVENT_METAINFO['palette'] for v in colour]
    assert flat == MADM_PALETTE_11
    # MADM colours its merged traffic sign with Cityscapes' traffic-light colour.
    assert MADM_DEPTH_EVENT_METAINFO['palette'][10] == [250, 170, 30]
    assert [v for colour in MADM_INFRARED_METAINFO['palette'] for v in colour] == MADM_PALETTE_9


def test_cityscapes_to_11_is_madms_label_convert():
    assert cityscapes_label_map(MADM_DEPTH_EVENT_CLASSES) == dict(MADM_CITYSCAPES_TO_11)
    label_map = cityscapes_label_map(MADM_DEPTH_EVENT_CLASSES)
    # rider -> person, truck -> car, terrain -> vegetation, traffic light -> traffic sign
    assert label_map[12] == label_map[11] == 3
    assert label_map[14] == label_map[13] == 8
    assert label_map[9] == label_map[8] == 7
    assert label_map[6] == label_map[7] == 10


def test_cityscapes_to_9_drops_wall_and_fence():
    label_map = cityscapes_label_map(MADM_INFRARED_CLASSES)
    assert label_map == dict(MADM_CITYSCAPES_TO_9)
    assert label_map[3] == label_map[4] == 255  # wall, fence
    assert label_map[12] == 2 and label_map[14] == 7 and label_map[9] == 6


def test_deliver_value_table_is_madms_shifted_by_one():
    expected = {class_id + 1: madm for class_id, madm in MADM_DELIVER_CONVERT}
    expected.update({0: 255, 255: 255})  # unlabelled (the uint8 wrap of the original) and 255
    assert deliver_value_to_madm() == expected


def test_deliver_labels_read_the_red_channel():
    rgb = deliver_semantic(DELIVER_RAW, seed=3)
    np.testing.assert_array_equal(deliver_label_to_madm(rgb, 'x.png'), DELIVER_MADM)
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1, ), 7, np.uint8)], axis=-1)
    np.testing.assert_array_equal(deliver_label_to_madm(rgba, 'x.png'), DELIVER_MADM)


def test_deliver_value_outside_the_classes_names_the_file():
    raw = DELIVER_RAW.copy()
    raw[0, 0] = 26  # 25 classes: values 1..25
    with pytest.raises(ValueError, match=r"'frame\.png' holds ids \[26\].*DELIVER"):
        deliver_label_to_madm(deliver_semantic(raw), 'frame.png')
    with pytest.raises(ValueError, match='red channel'):
        deliver_label_to_madm(np.zeros((4, 8, 2), np.uint8), 'frame.png')


def test_fmb_table_and_pixels():
    expected = dict(MADM_FMB_CONVERT)
    expected[255] = 255
    assert fmb_value_to_madm() == expected
    np.testing.assert_array_equal(fmb_label_to_madm(FMB_RAW, 'x.png'), FMB_MADM)
    with pytest.raises(ValueError, match='single-channel'):
        fmb_label_to_madm(np.zeros((4, 8, 3), np.uint8), 'x.png')
    bad = FMB_RAW.copy()
    bad[0, 0] = 15
    with pytest.raises(ValueError, match=r'holds ids \[15\]'):
        fmb_label_to_madm(bad, 'x.png')


def test_label_map_by_name_requires_every_source_class():
    with pytest.raises(KeyError, match='rider'):
        label_map_by_name(('person', 'rider'), {'person': 'person'}, MADM_INFRARED_CLASSES)
    assert label_map_by_name(('a', 'b'), {'a': 'car', 'b': None}, ('car', )) == {0: 0, 1: 255}


def test_deliver_tables_match_the_toy_writer():
    """The toy generator writes DELIVER files with its own copy of DELIVER's class list."""
    toy = pytest.importorskip('mmseg_diffuda.toy')
    assert DELIVER_CLASSES == tuple(toy.DELIVER_CLASSES)
    assert DELIVER_CONDITIONS == tuple(toy.DELIVER_CONDITIONS)
