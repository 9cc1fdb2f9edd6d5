"""LoadModalityImage (1 -> 3 channels) and ResizeForEvaluation (MADM's 512x512 protocol)."""
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmseg.evaluation import IoUMetric
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import TRANSFORMS

from .modality_trees import write_gray


def load(path, **kwargs):
    return TRANSFORMS.build(dict(type='LoadModalityImage', **kwargs))(dict(img_path=str(path)))


def test_single_channel_is_repeated_to_three(tmp_path):
    gray = np.arange(24, dtype=np.uint8).reshape(4, 6)
    write_gray(tmp_path / 'depth.png', gray)
    results = load(tmp_path / 'depth.png')
    assert results['img'].shape == (4, 6, 3) and results['img'].dtype == np.uint8
    for channel in range(3):
        np.testing.assert_array_equal(results['img'][..., channel], gray)
    assert results['ori_shape'] == results['img_shape'] == (4, 6)


def test_colour_kept_and_alpha_dropped(tmp_path):
    bgra = np.random.default_rng(0).integers(0, 256, (4, 6, 4), dtype=np.uint8)
    assert cv2.imwrite(str(tmp_path / 'rgba.png'), bgra)
    assert cv2.imwrite(str(tmp_path / 'rgb.png'), bgra[..., :3])
    np.testing.assert_array_equal(load(tmp_path / 'rgba.png')['img'], bgra[..., :3])
    np.testing.assert_array_equal(load(tmp_path / 'rgb.png')['img'], bgra[..., :3])


def test_sixteen_bit_and_missing_files_are_named(tmp_path):
    write_gray(tmp_path / 'deep.png', np.full((4, 6), 1000, np.uint16))
    with pytest.raises(ValueError, match=r"'.*deep\.png' is uint16.*8-bit"):
        load(tmp_path / 'deep.png')
    with pytest.raises(FileNotFoundError, match='gone.png'):
        load(tmp_path / 'gone.png')
    assert load(tmp_path / 'gone.png', ignore_empty=True) is None


def evaluation_sample(scale=(4, 2)):
    label = np.arange(32, dtype=np.uint8).reshape(4, 8)
    image = np.zeros((4, 8, 3), np.uint8)
    return dict(img=image, img_shape=(4, 8), ori_shape=(4, 8), gt_seg_map=label,
                seg_fields=['gt_seg_map'], seg_map_path='label.png')


def test_evaluation_resize_uses_nearest_labels_and_moves_ori_shape():
    resize = TRANSFORMS.build(dict(type='ResizeForEvaluation', scale=(4, 2)))
    results = resize(evaluation_sample())
    # PIL's nearest neighbour samples pixel centres: rows 1, 3 and columns 1, 3, 5, 7 of the
    # 4x8 label (OpenCV would take rows 0, 2 and columns 0, 2, 4, 6).
    np.testing.assert_array_equal(results['gt_seg_map'], [[9, 11, 13, 15], [25, 27, 29, 31]])
    assert results['img'].shape == (2, 4, 3)
    assert results['ori_shape'] == results['img_shape'] == (2, 4)


def test_evaluation_resize_needs_the_label_first():
    sample = evaluation_sample()
    del sample['gt_seg_map']
    with pytest.raises(KeyError, match='put LoadSegLabel before ResizeForEvaluation'):
        TRANSFORMS.build(dict(type='ResizeForEvaluation'))(sample)


@pytest.mark.parametrize('protocol, expected_shape', [('madm', (8, 8)), ('native', (12, 20))])
def test_prediction_and_label_meet_on_the_evaluation_grid(tmp_path, protocol, expected_shape):
    """The segmentor resizes its logits to ori_shape; IoUMetric then needs the label's shape."""
    write_gray(tmp_path / 'ir.png', np.full((12, 20), 90, np.uint8))
    label = np.zeros((12, 20), np.uint8)
    label[:, 10:] = 1
    write_gray(tmp_path / 'label.png', label)
    resize = (dict(type='ResizeForEvaluation', scale=(8, 8)) if protocol == 'madm' else
              dict(type='Resize', scale=(8, 8), keep_ratio=False, backend='pillow'))
    steps = [dict(type='LoadModalityImage'), dict(type='LoadSegLabel', num_classes=2), resize,
             dict(type='PackSegInputs')]
    if protocol == 'native':  # predict at 8x8, score at the label's resolution
        steps[1], steps[2] = steps[2], steps[1]
    packed = Compose([TRANSFORMS.build(step) for step in steps])(
        dict(img_path=str(tmp_path / 'ir.png'), seg_map_path=str(tmp_path / 'label.png'),
             reduce_zero_label=False, seg_fields=[]))
    assert packed['inputs'].shape == (3, 8, 8)  # predicted on the 8x8 input either way
    assert packed['data_samples'].gt_sem_seg.shape == expected_shape
    logits = torch.zeros(1, 2, 8, 8)
    # Class 1 wins right of input column 3.5, i.e. right of label column 10 once upsampled.
    logits[:, 1] = torch.arange(8.0) - 3.5
    segmentor = SimpleNamespace(align_corners=False)
    data_samples = BaseSegmentor.postprocess_result(segmentor, logits, [packed['data_samples']])
    assert data_samples[0].pred_sem_seg.shape == expected_shape
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=('a', 'b'))
    metric.process({}, [data_samples[0].to_dict()])
    assert metric.compute_metrics(metric.results)['mIoU'] == 100.0


@pytest.mark.parametrize('channels', [1, 3, 4])
def test_to_three_channels_after_mmcv_loader_equals_load_modality_image(tmp_path, channels):
    """The test pipelines' LoadImageFromFile(unchanged) + ToThreeChannels (MMSegInferencer)."""
    rng = np.random.default_rng(channels)
    image = rng.integers(0, 256, (4, 6) if channels == 1 else (4, 6, channels), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'modality.png'), image)
    split = Compose([dict(type='LoadImageFromFile', color_type='unchanged',
                          imdecode_backend='cv2'), dict(type='ToThreeChannels')])
    results = split(dict(img_path=str(tmp_path / 'modality.png')))
    np.testing.assert_array_equal(results['img'], load(tmp_path / 'modality.png')['img'])
    assert results['img'].shape == (4, 6, 3)


def test_to_three_channels_names_the_file_of_a_16_bit_image(tmp_path):
    cv2.imwrite(str(tmp_path / 'depth16.png'), np.full((4, 6), 1000, np.uint16))
    split = Compose([dict(type='LoadImageFromFile', color_type='unchanged',
                          imdecode_backend='cv2'), dict(type='ToThreeChannels')])
    with pytest.raises(ValueError, match='depth16.png.*uint16'):
        split(dict(img_path=str(tmp_path / 'depth16.png')))
