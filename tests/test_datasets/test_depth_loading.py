"""LoadDepthFromFile: Cityscapes disparity + camera -> metric depth that moves with the image."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.dataset import Compose

from mmseg_diffuda.datasets.transforms.depth import LoadDepthFromFile, disparity_to_depth

BASELINE, FX = 0.2, 100.0  # baseline * fx = 20: disparity 1 px <-> 20 m
STEM = 'toycity_000000_000000'


def write_frame(root: Path, disparity: np.ndarray, camera: dict = None,
                split: str = 'train') -> str:
    """Write image, disparity and camera files of one frame; return the image path."""
    folder = Path(split) / 'toycity'
    image = root / 'leftImg8bit' / folder / f'{STEM}_leftImg8bit.png'
    for path in (image, root / 'disparity' / folder / 'x', root / 'camera' / folder / 'x'):
        path.parent.mkdir(parents=True, exist_ok=True)
    height, width = disparity.shape
    rgb = np.arange(height * width * 3, dtype=np.uint8).reshape(height, width, 3)
    cv2.imwrite(str(image), rgb)
    cv2.imwrite(str(root / 'disparity' / folder / f'{STEM}_disparity.png'), disparity)
    camera = camera if camera is not None else dict(
        extrinsic=dict(baseline=BASELINE), intrinsic=dict(fx=FX))
    (root / 'camera' / folder / f'{STEM}_camera.json').write_text(json.dumps(camera))
    return str(image)


def disparity_grid() -> np.ndarray:
    """4x4 uint16 disparity: p = 0 (invalid), 1 (infinity), 257 (d=1), 513 (d=2) per column."""
    return np.tile(np.array([0, 1, 257, 513], dtype=np.uint16), (4, 1))


def test_disparity_to_depth_by_hand():
    depth = disparity_to_depth(np.array([[0, 1, 257, 513, 5121]], dtype=np.uint16), BASELINE, FX)
    # z = b * fx / d with d = (p - 1) / 256: d = 1 -> 20 m, d = 2 -> 10 m, d = 20 -> 1 m;
    # p = 0 (no match) and p = 1 (d = 0, infinitely far) are invalid -> 0
    np.testing.assert_allclose(depth, [[0, 0, 20, 10, 1]], rtol=1e-6)
    assert depth.dtype == np.float32
    with pytest.raises(ValueError, match='positive'):
        disparity_to_depth(depth.astype(np.uint16), 0.0, FX)


def test_paths_follow_the_cityscapes_layout():
    transform = LoadDepthFromFile()
    disparity, camera = transform.depth_paths(
        '/d/cs/leftImg8bit/val/lindau/lindau_000001_000019_leftImg8bit.png')
    assert disparity == '/d/cs/disparity/val/lindau/lindau_000001_000019_disparity.png'
    assert camera == '/d/cs/camera/val/lindau/lindau_000001_000019_camera.json'
    with pytest.raises(ValueError, match='leftImg8bit'):
        transform.depth_paths('/d/gta/images/00001.png')


def test_load_depth_from_the_files(tmp_path):
    image = write_frame(tmp_path, disparity_grid())
    results = LoadDepthFromFile()(dict(img_path=image, ori_shape=(4, 4)))
    np.testing.assert_allclose(results['gt_depth_map'], np.tile([0, 0, 20, 10], (4, 1)),
                               rtol=1e-6)
    assert results['seg_fields'] == ['gt_depth_map']


def test_depth_moves_with_the_image_through_the_pipeline(tmp_path):
    disparity = np.zeros((8, 8), dtype=np.uint16)
    disparity[:, :4] = 257  # left half 20 m, right half invalid
    image = write_frame(tmp_path, disparity)
    pipeline = Compose([
        dict(type='LoadImage'),
        dict(type='LoadDepthFromFile'),
        dict(type='Resize', scale=(4, 4), keep_ratio=False),  # nearest: no blended zeros
        dict(type='RandomFlip', prob=1.0, direction='horizontal'),
        dict(type='PackSegInputs'),
    ])
    packed = pipeline(dict(img_path=image, seg_fields=[], reduce_zero_label=False))
    depth = packed['data_samples'].gt_depth_map.data
    assert depth.shape == (1, 4, 4)
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[:, 2:] = 20.0  # flipped: the valid half is now on the right
    np.testing.assert_allclose(depth[0].numpy(), expected, rtol=1e-6)


def test_clear_errors(tmp_path):
    transform = LoadDepthFromFile()
    missing = str(tmp_path / 'leftImg8bit/train/c/x_leftImg8bit.png')
    with pytest.raises(FileNotFoundError, match='disparity_trainvaltest.zip'):
        transform(dict(img_path=missing))

    image = write_frame(tmp_path / 'a', disparity_grid().astype(np.uint8))
    with pytest.raises(ValueError, match='16-bit'):
        transform(dict(img_path=image))

    image = write_frame(tmp_path / 'b', disparity_grid(), camera=dict(extrinsic={}))
    with pytest.raises(ValueError, match='baseline'):
        transform(dict(img_path=image))

    image = write_frame(tmp_path / 'c', disparity_grid())
    with pytest.raises(ValueError, match='before any Resize'):
        transform(dict(img_path=image, ori_shape=(8, 8)))
