"""SYNTHIA converter (tools/dataset_converters/synthia.py) and SynthiaDataset."""
import cv2
import numpy as np
import pytest
from mmseg.datasets import CityscapesDataset

from mmseg_diffuda.datasets import SynthiaDataset
from mmseg_diffuda.datasets.synthia import SYNTHIA_ID_TO_TRAINID

from .data_trees import (SYNTHIA_STATS, load_converter, make_synthia_tree, read_json, read_png,
                         synthia_train_ids, write_synthia_label)

PIPELINE = [dict(type='LoadImage'), dict(type='LoadSegLabel', num_classes=19),
            dict(type='PackSegInputs')]


@pytest.fixture
def synthia_root(tmp_path):
    return make_synthia_tree(tmp_path / 'synthia')


def test_table_is_the_cited_one():
    # DAFormer tools/convert_datasets/synthia.py, written out by hand from the research notes.
    assert SYNTHIA_ID_TO_TRAINID == {
        3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 16: 9, 1: 10, 10: 11, 17: 12,
        8: 13, 18: 14, 19: 15, 20: 16, 12: 17, 11: 18}


def test_converter_reads_last_channel_and_writes_hand_counted_stats(synthia_root):
    load_converter('synthia').main([str(synthia_root), '--nproc', '1'])
    for name, expected in synthia_train_ids().items():
        out = read_png(synthia_root / 'GT' / 'LABELS' / f'{name}_labelTrainIds.png')
        np.testing.assert_array_equal(out, expected)
    assert read_json(synthia_root / 'sample_class_stats.json') == SYNTHIA_STATS
    assert read_json(synthia_root / 'samples_with_class.json') == {
        '0': [['GT/LABELS/0000000_labelTrainIds.png', 48]],
        '10': [['GT/LABELS/0000000_labelTrainIds.png', 64]],
        '11': [['GT/LABELS/0000001_labelTrainIds.png', 8]],
        '13': [['GT/LABELS/0000001_labelTrainIds.png', 120]],
    }
    # Converting again reads the same two inputs and overwrites cleanly.
    load_converter('synthia').main([str(synthia_root), '--nproc', '1'])
    assert len(list((synthia_root / 'GT' / 'LABELS').glob('*_labelTrainIds.png'))) == 2
    assert read_json(synthia_root / 'sample_class_stats.json') == SYNTHIA_STATS


def test_converter_rejects_ids_above_22(synthia_root):
    ids = np.full((8, 16), 3)
    ids[2, 3] = 23
    write_synthia_label(synthia_root / 'GT' / 'LABELS' / '0000001.png', ids)
    with pytest.raises(ValueError, match=r'0000001\.png.*\[23\]'):
        load_converter('synthia').main([str(synthia_root), '--nproc', '1'])


def test_converter_rejects_single_channel_labels(synthia_root):
    cv2.imwrite(str(synthia_root / 'GT' / 'LABELS' / '0000000.png'), np.zeros((8, 16), np.uint8))
    with pytest.raises(ValueError, match=r'0000000\.png.*last channel'):
        load_converter('synthia').main([str(synthia_root), '--nproc', '1'])


def test_converter_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'(?s)GT/LABELS.*synthia-dataset\.net'):
        load_converter('synthia').main([str(tmp_path / 'synthia'), '--nproc', '1'])


def test_dataset_loads_converted_tree(synthia_root):
    load_converter('synthia').main([str(synthia_root), '--nproc', '1'])
    dataset = SynthiaDataset(data_root=str(synthia_root), pipeline=PIPELINE, serialize_data=False)
    assert len(dataset) == 2
    assert dataset.metainfo['classes'] == CityscapesDataset.METAINFO['classes']
    gt = dataset[0]['data_samples'].gt_sem_seg.data[0].numpy()
    np.testing.assert_array_equal(gt, synthia_train_ids()['0000000'])


def test_dataset_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'(?s)SynthiaDataset.*RGB.*does not exist.*'
                       r'tools/dataset_converters/synthia\.py'):
        SynthiaDataset(data_root=str(tmp_path / 'synthia'), pipeline=PIPELINE, serialize_data=False)
