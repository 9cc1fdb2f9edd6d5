"""Cityscapes converter (tools/dataset_converters/cityscapes.py) with mmseg's CityscapesDataset."""
import json

import numpy as np
import pytest
from mmseg.datasets import CityscapesDataset

from .data_trees import (CITYSCAPES_STATS, CS_TRAIN_A, CS_TRAIN_B, CS_VAL, cityscapes_train_ids_b,
                         load_converter, make_cityscapes_tree, read_json, read_png,
                         write_gray_label)

PIPELINE = [dict(type='LoadImage'), dict(type='LoadSegLabel', num_classes=19),
            dict(type='PackSegInputs')]


def test_converter_handles_label_ids_and_polygons(converted_cityscapes_root):
    gt = converted_cityscapes_root / 'gtFine'
    frame_a = read_png(gt / 'train' / 'aachen' / f'{CS_TRAIN_A}_gtFine_labelTrainIds.png')
    expected_a = np.zeros((8, 16), np.uint8)
    expected_a[4:] = 13
    np.testing.assert_array_equal(frame_a, expected_a)
    frame_b = read_png(gt / 'train' / 'aachen' / f'{CS_TRAIN_B}_gtFine_labelTrainIds.png')
    np.testing.assert_array_equal(frame_b, cityscapes_train_ids_b())
    val = read_png(gt / 'val' / 'frankfurt' / f'{CS_VAL}_gtFine_labelTrainIds.png')
    np.testing.assert_array_equal(val, np.full((8, 16), 2, np.uint8))
    # Statistics of the train split only, as DAFormer's converter.
    assert read_json(converted_cityscapes_root / 'sample_class_stats.json') == CITYSCAPES_STATS
    swc = read_json(converted_cityscapes_root / 'samples_with_class.json')
    assert swc['13'] == [[CITYSCAPES_STATS[0]['file'], 64], [CITYSCAPES_STATS[1]['file'], 4]]


def test_converting_twice_is_clean(converted_cityscapes_root):
    load_converter('cityscapes').main([str(converted_cityscapes_root), '--nproc', '2'])
    outputs = sorted(p.name for p in converted_cityscapes_root.rglob('*_labelTrainIds.png'))
    names = (CS_TRAIN_A, CS_TRAIN_B, CS_VAL)
    assert outputs == sorted(f'{n}_gtFine_labelTrainIds.png' for n in names)
    assert read_json(converted_cityscapes_root / 'sample_class_stats.json') == CITYSCAPES_STATS


def test_ids_outside_cityscapesscripts_are_errors(tmp_path):
    root = make_cityscapes_tree(tmp_path / 'cityscapes')
    ids = np.full((8, 16), 7)
    ids[0, :2] = 34
    write_gray_label(root / 'gtFine' / 'val' / 'frankfurt' / f'{CS_VAL}_gtFine_labelIds.png', ids)
    with pytest.raises(ValueError, match=rf'{CS_VAL}_gtFine_labelIds\.png.*\[34\]'):
        load_converter('cityscapes').main([str(root), '--nproc', '1'])


def test_unknown_polygon_labels_are_errors(tmp_path):
    root = make_cityscapes_tree(tmp_path / 'cityscapes')
    path = root / 'gtFine' / 'train' / 'aachen' / f'{CS_TRAIN_B}_gtFine_polygons.json'
    annotation = json.loads(path.read_text())
    annotation['objects'].append({'label': 'spaceship', 'polygon': [[0, 0], [1, 0], [1, 1]]})
    path.write_text(json.dumps(annotation))
    with pytest.raises(ValueError, match=r"polygons\.json.*\['spaceship'\]"):
        load_converter('cityscapes').main([str(root), '--nproc', '1'])


def test_converter_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r'(?s)gtFine.*leftImg8bit.*cityscapes-dataset\.com'):
        load_converter('cityscapes').main([str(tmp_path / 'cityscapes'), '--nproc', '1'])


def test_mmseg_dataset_loads_converted_tree(converted_cityscapes_root):
    dataset = CityscapesDataset(
        data_root=str(converted_cityscapes_root),
        data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=PIPELINE, serialize_data=False)
    assert len(dataset) == 2
    gt = dataset[1]['data_samples'].gt_sem_seg.data[0].numpy()
    np.testing.assert_array_equal(gt, cityscapes_train_ids_b())
