"""DELIVER / FMB / DSEC datasets and converters, and the remapped Cityscapes source."""
import json
import os.path as osp

import numpy as np
import pytest
from mmseg.registry import DATASETS

from mmseg_diffuda.datasets import UDADataset
from .data_trees import load_converter, read_png
from .modality_trees import (CITYSCAPES_TRAIN_IDS, CONDITIONS, DELIVER_MADM, FMB_MADM, H, W,
                             MADM_CITYSCAPES_TO_9, MADM_CITYSCAPES_TO_11, make_deliver_tree,
                             make_dsec_tree, make_fmb_tree, make_cityscapes_train_ids_tree)

NO_SERIALIZE = dict(serialize_data=False)  # mmengine's serialisation costs a gc.collect() each


def label_pipeline(num_classes):
    return [dict(type='LoadModalityImage'), dict(type='LoadSegLabel', num_classes=num_classes),
            dict(type='PackSegInputs')]


def build(type_, root, **kwargs):
    return DATASETS.build(dict(type=type_, data_root=str(root), **NO_SERIALIZE, **kwargs))


def packed_label(sample):
    return sample['data_samples'].gt_sem_seg.data[0].numpy()


def convert(name, root):
    load_converter(name).main([str(root), '--nproc', '1'])


# ----------------------------------------------------------------------------------------------
# DELIVER
# ----------------------------------------------------------------------------------------------
@pytest.fixture
def deliver_root(tmp_path):
    root = make_deliver_tree(tmp_path / 'deliver')
    convert('deliver', root)
    return root


def test_deliver_converter_writes_madm_ids(deliver_root):
    rel = 'semantic/night/test/MAP_1_point1/020000_semantic_front_labelTrainIds.png'
    np.testing.assert_array_equal(read_png(deliver_root / rel), DELIVER_MADM)
    # Converting twice reads the same inputs (its own outputs are skipped).
    convert('deliver', deliver_root)
    np.testing.assert_array_equal(read_png(deliver_root / rel), DELIVER_MADM)
    assert not (deliver_root / 'sample_class_stats.json').exists()  # targets need no RCS stats


def test_deliver_dataset_lists_front_frames_of_each_condition(deliver_root):
    train = build('DeliverDepthDataset', deliver_root, split='train',
                  data_prefix=dict(img_path='depth'))
    names = [osp.relpath(info['img_path'], deliver_root) for info in train.load_data_list()]
    assert names == [f'depth/{cond}/train/MAP_1_point1/{c:02d}{i:04d}_depth_front.png'
                     for c, cond in enumerate(CONDITIONS) for i in range(2)]
    assert all('seg_map_path' not in info for info in train.load_data_list())  # unlabelled

    test = build('DeliverDepthDataset', deliver_root, split='test', conditions=('night', ),
                 pipeline=label_pipeline(11))
    assert len(test) == 1
    sample = test[0]
    np.testing.assert_array_equal(packed_label(sample), DELIVER_MADM)
    image = sample['inputs'].numpy()
    assert image.shape == (3, H, W)  # single-channel depth repeated to 3 channels
    assert (image[0] == image[1]).all() and (image[1] == image[2]).all()
    assert test.metainfo['classes'][5] == 'road' and test.metainfo['label_map'] is None


def test_deliver_arguments_are_checked(deliver_root):
    with pytest.raises(ValueError, match=r"split 'training' is not a DELIVER split"):
        build('DeliverDepthDataset', deliver_root, split='training')
    with pytest.raises(ValueError, match='subset of'):
        build('DeliverDepthDataset', deliver_root, conditions=('snow', ))


def test_deliver_missing_root_names_layout_and_download(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        build('DeliverDepthDataset', tmp_path / 'nowhere', split='test')
    message = str(err.value)
    assert 'depth/cloud/test' in message and 'does not exist' in message
    assert '_semantic_front.png' in message and 'github.com/jamycheung/DELIVER' in message
    assert 'tools/dataset_converters/deliver.py' in message


def test_deliver_unconverted_labels_name_the_converter(tmp_path):
    root = make_deliver_tree(tmp_path / 'deliver')
    with pytest.raises(FileNotFoundError,
                       match=r'5 of 5 trainId label maps are missing.*dataset_converters/deliver'):
        build('DeliverDepthDataset', root, split='test')
    with pytest.raises(FileNotFoundError, match='DELIVER converter.*semantic'):
        convert('deliver', tmp_path / 'empty')


def test_deliver_ann_file_selects_frames(deliver_root, tmp_path):
    ann = tmp_path / 'split.txt'
    ann.write_text('night/test/MAP_1_point1/020000\n')
    dataset = build('DeliverDepthDataset', deliver_root, ann_file=str(ann),
                    pipeline=label_pipeline(11))
    assert len(dataset) == 1
    np.testing.assert_array_equal(packed_label(dataset[0]), DELIVER_MADM)


# ----------------------------------------------------------------------------------------------
# FMB
# ----------------------------------------------------------------------------------------------
def test_fmb_converter_and_dataset(tmp_path):
    root = make_fmb_tree(tmp_path / 'fmb')
    convert('fmb', root)
    for split in ('train', 'test'):
        np.testing.assert_array_equal(read_png(root / split / 'Label' / '00002_labelTrainIds.png'),
                                      FMB_MADM)
    test = build('FMBInfraredDataset', root, pipeline=label_pipeline(9))
    assert len(test) == 2 and len(test.metainfo['classes']) == 9
    np.testing.assert_array_equal(packed_label(test[1]), FMB_MADM)
    train = build('FMBInfraredDataset', root, data_prefix=dict(img_path='train/Infrared'))
    assert len(train) == 2 and 'seg_map_path' not in train.get_data_info(0)


def test_fmb_missing_root_and_labels(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)test/Infrared.*Infrared/<name>\.png.*SegMiF"):
        build('FMBInfraredDataset', tmp_path / 'nowhere')
    root = make_fmb_tree(tmp_path / 'fmb')
    with pytest.raises(FileNotFoundError, match=r'dataset_converters/fmb\.py'):
        build('FMBInfraredDataset', root)
    with pytest.raises(FileNotFoundError, match='FMB converter'):
        convert('fmb', tmp_path / 'nowhere')


# ----------------------------------------------------------------------------------------------
# DSEC
# ----------------------------------------------------------------------------------------------
def test_dsec_labels_are_used_as_downloaded(tmp_path):
    root = make_dsec_tree(tmp_path / 'dsec')
    test = build('DSECEventDataset', root, pipeline=label_pipeline(11))
    info = test.get_data_info(0)
    assert osp.relpath(info['seg_map_path'], root) == \
        'test_semantic_labels/zurich_city_13_a/11classes/000000.png'
    assert (packed_label(test[0]) == 5).all()  # 5 = road in DSEC's and MADM's 11 classes
    train = build('DSECEventDataset', root, data_prefix=dict(img_path='69mask_train_edges'),
                  pipeline=[dict(type='LoadModalityImage'), dict(type='PackSegInputs')])
    assert len(train) == 2 and train[0]['inputs'].shape == (3, H, W)


def test_19_class_labels_fed_to_the_11_class_dataset_fail_clearly(tmp_path):
    root = make_dsec_tree(tmp_path / 'dsec')
    dataset = build('DSECEventDataset', root, label_subdir='19classes',
                    pipeline=label_pipeline(11))
    with pytest.raises(ValueError, match=r'wrong class count.*19classes.*ids \[15\].*'
                       r'num_classes=11'):
        dataset[0]


def test_dsec_missing_root_and_labels(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r'(?s)69mask_test_edges.*XiaRho/MADM.*dsec-semantic'):
        build('DSECEventDataset', tmp_path / 'nowhere')
    root = make_dsec_tree(tmp_path / 'dsec')
    with pytest.raises(FileNotFoundError,
                       match=r'(?s)2 of 2 labels are missing.*8classes.*no converter'):
        build('DSECEventDataset', root, label_subdir='8classes')


# ----------------------------------------------------------------------------------------------
# Cityscapes remapped to the MADM class sets
# ----------------------------------------------------------------------------------------------
def cityscapes(root, type_='CityscapesMADM11Dataset', num_classes=11, **kwargs):
    return build(type_, root,
                 data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
                 pipeline=[dict(type='LoadImage'),
                           dict(type='LoadSegLabel', num_classes=num_classes),
                           dict(type='PackSegInputs')], **kwargs)


@pytest.mark.parametrize('type_, num_classes, table',
                         [('CityscapesMADM11Dataset', 11, MADM_CITYSCAPES_TO_11),
                          ('CityscapesMADM9Dataset', 9, MADM_CITYSCAPES_TO_9)])
def test_cityscapes_is_remapped_while_loading(tmp_path, type_, num_classes, table):
    root = make_cityscapes_train_ids_tree(tmp_path / 'cityscapes')
    dataset = cityscapes(root, type_, num_classes)
    lut = dict(table)
    lut[255] = 255
    expected = np.vectorize(lut.get)(CITYSCAPES_TRAIN_IDS)
    np.testing.assert_array_equal(packed_label(dataset[0]), expected)
    assert len(dataset.metainfo['classes']) == len(dataset.metainfo['palette']) == num_classes


def test_cityscapes_class_subset_keeps_colours_by_name(tmp_path):
    root = make_cityscapes_train_ids_tree(tmp_path / 'cityscapes')
    dataset = cityscapes(root, num_classes=2, metainfo=dict(classes=('road', 'car')))
    assert dataset.metainfo['palette'] == [[128, 64, 128], [0, 0, 142]]
    label = packed_label(dataset[0])
    assert label[0, 0] == 0 and label[1, 6] == 1  # trainId 0 road, 14 truck -> car
    assert label[0, 2] == 255  # building is not in the subset
    with pytest.raises(ValueError, match=r"\['terrain'\] are not in its class set"):
        cityscapes(root, metainfo=dict(classes=('road', 'terrain')))


def test_rare_class_sampling_merges_the_19_trainid_statistics(tmp_path):
    """The converter's statistics count 19 trainIds; RCS sees them through the label_map."""
    root = make_cityscapes_train_ids_tree(tmp_path / 'cityscapes')
    name = 'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png'
    # rider 12 and person 11 -> person 3; truck 14 and car 13 -> car 8; wall 3 -> wall 9
    (root / 'sample_class_stats.json').write_text(
        json.dumps([{'file': name, '11': 10, '12': 20, '13': 40, '14': 5, '3': 1}]))
    target = build('DeliverDepthDataset', make_deliver_tree(tmp_path / 'deliver'),
                   data_prefix=dict(img_path='depth'),
                   pipeline=[dict(type='LoadModalityImage'), dict(type='PackSegInputs')])
    uda = UDADataset(source=cityscapes(root), target=target,
                     rare_class_sampling=dict(class_temp=1.0, min_pixels=0, min_crop_ratio=0))
    assert uda.rcs.classes.tolist() == [9, 3, 8]  # ascending merged counts 1, 30, 45
    assert uda.rcs.files_with_class[3] == [name]
    sample = uda[0]
    assert sample['target']['inputs'].shape == (3, H, W)
