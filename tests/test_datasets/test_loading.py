"""LoadImage / LoadSegLabel: load-time checks naming the file."""
import numpy as np
import pytest
from mmcv.transforms import Compose

from mmseg_diffuda.datasets.transforms import LoadImage, LoadSegLabel

from .data_trees import write_gray_label, write_rgb


def results_for(img_path, seg_map_path=None):
    results = dict(img_path=str(img_path), label_map=None, reduce_zero_label=False, seg_fields=[])
    if seg_map_path is not None:
        results['seg_map_path'] = str(seg_map_path)
    return results


@pytest.fixture
def pair(tmp_path):
    img, label = tmp_path / 'img.png', tmp_path / 'label.png'
    write_rgb(img)
    ids = np.zeros((8, 16), np.uint8)
    ids[:, 8:] = 18
    ids[0] = 255
    write_gray_label(label, ids)
    return img, label, ids


def test_valid_pair_loads(pair):
    img, label, ids = pair
    results = LoadSegLabel(num_classes=19)(LoadImage()(results_for(img, label)))
    assert results['img'].shape == (8, 16, 3)
    np.testing.assert_array_equal(results['gt_seg_map'], ids)


def test_corrupt_image_names_the_file(tmp_path):
    path = tmp_path / 'broken.png'
    path.write_bytes(b'\x89PNG\r\n\x1a\n this is not an image')
    with pytest.raises(OSError, match=r'cannot decode image .*broken\.png.*re-extract'):
        LoadImage()(results_for(path))


def test_missing_image_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'image .*absent\.png.* does not exist'):
        LoadImage()(results_for(tmp_path / 'absent.png'))


def test_size_mismatch_names_both_files(tmp_path, pair):
    img, _, _ = pair
    small = tmp_path / 'small_label.png'
    write_gray_label(small, np.zeros((8, 12), np.uint8))
    load = Compose([LoadImage(), LoadSegLabel(num_classes=19)])
    with pytest.raises(ValueError, match=r'small_label\.png.* 8x12 .*img\.png.* 8x16'):
        load(results_for(img, small))


def test_label_checked_against_original_size_after_resize(pair):
    # Full-resolution evaluation: Resize runs before LoadSegLabel; the label must match the
    # image as read from disk, not the resized input.
    img, label, ids = pair
    load = Compose([dict(type='LoadImage'), dict(type='Resize', scale=(8, 4), keep_ratio=True),
                    dict(type='LoadSegLabel', num_classes=19)])
    results = load(results_for(img, label))
    assert results['img'].shape[:2] == (4, 8)
    np.testing.assert_array_equal(results['gt_seg_map'], ids)


def test_wrong_class_count_names_file_and_ids(pair):
    img, label, _ = pair  # trainIds 0 and 18: a 19-class label
    load = Compose([LoadImage(), LoadSegLabel(num_classes=11)])
    with pytest.raises(ValueError, match=r'wrong class count.*label\.png.*\[18\].*num_classes=11'):
        load(results_for(img, label))


def test_label_map_applies_before_the_id_check(pair):
    # A 19-class label remapped to 2 classes by the dataset's label_map passes an 2-class check.
    img, label, _ = pair
    results = results_for(img, label)
    results['label_map'] = {**{i: 255 for i in range(19)}, 0: 0, 18: 1}
    out = LoadSegLabel(num_classes=2)(LoadImage()(results))
    assert set(np.unique(out['gt_seg_map'])) == {0, 1, 255}


def test_multichannel_label_is_rejected(tmp_path, pair):
    img, _, _ = pair
    colour = tmp_path / 'colour_label.png'
    write_rgb(colour)
    with pytest.raises(ValueError, match=r'colour_label\.png.*single-channel'):
        LoadSegLabel(num_classes=19)(LoadImage()(results_for(img, colour)))


def test_missing_label_names_the_converters(tmp_path, pair):
    img, _, _ = pair
    with pytest.raises(FileNotFoundError, match=r'nolabel\.png.*tools/dataset_converters'):
        LoadSegLabel(num_classes=19)(LoadImage()(results_for(img, tmp_path / 'nolabel.png')))


def test_corrupt_label_names_the_file(tmp_path, pair):
    img, _, _ = pair
    broken = tmp_path / 'broken_label.png'
    broken.write_bytes(b'garbage')
    with pytest.raises(OSError, match=r'cannot decode label map .*broken_label\.png'):
        LoadSegLabel(num_classes=19)(LoadImage()(results_for(img, broken)))


def test_num_classes_must_be_positive():
    with pytest.raises(ValueError, match='num_classes'):
        LoadSegLabel(num_classes=0)


def test_unlabelled_inference_sample_passes_through(pair):
    """mmseg's inference API keeps LoadSegLabel in the pipeline and gives no seg_map_path."""
    img, _, _ = pair
    results = LoadSegLabel(num_classes=19)(LoadImage()(dict(img_path=str(img))))
    assert 'gt_seg_map' not in results and results['img'].shape == (8, 16, 3)
