"""The written toy dataset: layout, determinism and file contents."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from mmseg_diffuda.toy import Tree, deliver_value_lut, generate_toy_dataset, sample_toy_scene
from mmseg_diffuda.toy.labels import DELIVER_CLASSES, ID

H, W = 32, 64
COUNTS = dict(num_source=3, num_target_train=2, num_target_val=2, num_deliver_train=5,
              num_deliver_test=2)


def _generate(root: Path, seed: int = 0, workers: int = 1) -> dict:
    return generate_toy_dataset(root, height=H, width=W, seed=seed, workers=workers, **COUNTS)


def _files(root: Path) -> dict:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob('*')) if p.is_file()
    }


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy')
    summary = _generate(root)
    return root, summary


def _expected_paths() -> set:
    paths = set()
    for i in range(3):
        paths |= {f'gta/images/{i:05d}.png', f'gta/labels/{i:05d}.png'}
    for split in ('train', 'val'):
        for i in range(2):
            stem = f'toycity_{i:06d}_000000'
            paths |= {f'cityscapes/leftImg8bit/{split}/toycity/{stem}_leftImg8bit.png',
                      f'cityscapes/gtFine/{split}/toycity/{stem}_gtFine_labelIds.png',
                      f'cityscapes/disparity/{split}/toycity/{stem}_disparity.png',
                      f'cityscapes/camera/{split}/toycity/{stem}_camera.json'}
    deliver = [('train', 0, 'cloud'), ('train', 1, 'fog'), ('train', 2, 'night'),
               ('train', 3, 'rain'), ('train', 4, 'sun'), ('test', 0, 'cloud'), ('test', 1, 'fog')]
    for split, i, cond in deliver:
        for modality, suffix in (('img', 'rgb'), ('depth', 'depth'), ('semantic', 'semantic')):
            paths.add(f'deliver/{modality}/{cond}/{split}/toymap_00/{i:06d}_{suffix}_front.png')
    return paths


def test_layout_and_file_names(toy):
    root, summary = toy
    assert set(_files(root)) == _expected_paths()
    assert summary['gta'] == {'root': str(root / 'gta'), 'images': 3}
    assert summary['cityscapes']['train'] == 2 and summary['cityscapes']['val'] == 2
    assert summary['deliver']['conditions'] == ['cloud', 'fog', 'night', 'rain', 'sun']
    assert summary['class_pixel_fraction']['gta']['road'] > 0.1


def test_same_seed_identical_bytes_any_workers(toy, tmp_path):
    root, _ = toy
    _generate(tmp_path / 'again', seed=0, workers=2)
    assert _files(tmp_path / 'again') == _files(root)


def test_different_seed_differs(toy, tmp_path):
    root, _ = toy
    _generate(tmp_path / 'other', seed=1)
    other = _files(tmp_path / 'other')
    reference = _files(root)
    assert set(other) == set(reference)
    images = [
        k for k in reference if k.endswith(('leftImg8bit.png', 'rgb_front.png')) or '/images/' in k
    ]
    assert all(other[k] != reference[k] for k in images)


def test_image_formats(toy):
    root, _ = toy
    rgb = Image.open(root / 'gta/images/00000.png')
    assert rgb.mode == 'RGB' and rgb.size == (W, H)
    left = Image.open(root /
                      'cityscapes/leftImg8bit/train/toycity/toycity_000000_000000_leftImg8bit.png')
    assert left.mode == 'RGB' and left.size == (W, H)
    depth = cv2.imread(str(root / 'deliver/depth/cloud/train/toymap_00/000000_depth_front.png'),
                       cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint8 and depth.shape == (H, W)


def test_label_files_hold_valid_ids_and_frequent_classes(toy):
    root, _ = toy
    seen = set()
    label_files = sorted((root / 'gta/labels').glob('*.png'))
    label_files += sorted((root / 'cityscapes/gtFine').rglob('*_labelIds.png'))
    for path in label_files:
        image = Image.open(path)
        assert image.mode in ('P', 'L')
        ids = np.array(image)
        assert ids.dtype == np.uint8 and ids.shape == (H, W)
        assert ids.max() <= 33
        assert ID['road'] in ids  # the street is always visible
        seen |= set(np.unique(ids).tolist())
    assert {ID['road'], ID['building'], ID['sky'], ID['car']} <= seen
    assert set(np.unique(list(seen))) <= set(ID.values())


def test_gta_labels_are_palette_pngs(toy):
    root, _ = toy
    image = Image.open(root / 'gta/labels/00001.png')
    assert image.mode == 'P'
    palette = np.array(image.getpalette()).reshape(-1, 3)
    assert tuple(palette[ID['road']]) == (128, 64, 128) and tuple(palette[ID['car']]) == (0, 0, 142)
    scene = sample_toy_scene(Tree.GTA5, 'train', 1, seed=0, height=H, width=W)
    np.testing.assert_array_equal(np.array(image), scene.label)


def test_disparity_matches_depth(toy):
    root, _ = toy
    stem = 'toycity_000001_000000'
    base = root / 'cityscapes'
    disparity = cv2.imread(str(base / f'disparity/val/toycity/{stem}_disparity.png'),
                           cv2.IMREAD_UNCHANGED)
    camera = json.loads((base / f'camera/val/toycity/{stem}_camera.json').read_text())
    labels = np.array(Image.open(base / f'gtFine/val/toycity/{stem}_gtFine_labelIds.png'))
    scene = sample_toy_scene(Tree.CITYSCAPES, 'val', 1, seed=0, height=H, width=W)
    np.testing.assert_array_equal(labels, scene.label)
    assert disparity.dtype == np.uint16
    baseline, fx = camera['extrinsic']['baseline'], camera['intrinsic']['fx']
    assert camera['intrinsic']['v0'] == scene.camera.v0 and camera['extrinsic'][
        'z'] == scene.camera.height
    # hand-check the bottom-centre pixel: p = round(baseline * fx / depth * 256) + 1
    i, j = H - 1, W // 2
    depth = float(scene.depth[i, j])
    assert disparity[i, j] == round(baseline * fx / depth * 256) + 1
    sky = labels == ID['sky']
    assert sky.any() and np.all(disparity[sky] == 0)
    assert np.all(disparity[~sky] > 0)
    decoded = (disparity[~sky].astype(np.float64) - 1) / 256
    exact = baseline * fx / scene.depth[~sky].astype(np.float64)
    assert np.abs(decoded - exact).max() <= 1 / 512 + 1e-9  # within half a quantisation step


def test_deliver_semantic_and_depth(toy):
    root, _ = toy
    sub = 'night/train/toymap_00/000002'
    bgr = cv2.imread(str(root / f'deliver/semantic/{sub}_semantic_front.png'), cv2.IMREAD_UNCHANGED)
    scene = sample_toy_scene(Tree.DELIVER, 'train', 2, seed=0, height=H, width=W)
    expected = deliver_value_lut()[scene.label]
    expected[(scene.label == ID['road'])
             & (scene.lane_mark > 0)] = DELIVER_CLASSES.index('RoadLine') + 1
    np.testing.assert_array_equal(bgr[..., 2], expected)  # red channel
    assert not bgr[..., :2].any()
    assert bgr[..., 2].max() <= 25 and (bgr[..., 2] == DELIVER_CLASSES.index('Sky') + 1).any()
    grey = cv2.imread(str(root / f'deliver/depth/{sub}_depth_front.png'), cv2.IMREAD_UNCHANGED)
    sky = ~np.isfinite(scene.depth)
    assert grey[sky].astype(float).mean() > grey[~sky].astype(float).mean()


def test_refuses_to_mix_with_existing_data(toy):
    root, _ = toy
    with pytest.raises(FileExistsError, match='overwrite'):
        _generate(root)


def test_overwrite_replaces_stale_files(tmp_path):
    generate_toy_dataset(tmp_path, num_source=2, num_target_train=0, num_target_val=0,
                         num_deliver_train=0, num_deliver_test=0, height=H, width=W)
    generate_toy_dataset(tmp_path, num_source=1, num_target_train=0, num_target_val=0,
                         num_deliver_train=0, num_deliver_test=0, height=H, width=W, overwrite=True)
    assert sorted(p.name for p in (tmp_path / 'gta/images').iterdir()) == ['00000.png']


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_source=-1), 'num_source'),
    (dict(height=8), 'height'),
    (dict(workers=0), 'workers'),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate_toy_dataset(tmp_path, **kwargs)
