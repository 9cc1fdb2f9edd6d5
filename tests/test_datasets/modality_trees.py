"""Tiny on-disk DELIVER / FMB / DSEC / Cityscapes-trainId trees with hand-made labels.

The expected MADM ids are typed from MADM's official ``label_convert`` lists
(``config_files/common/data/cityscapes_rgb_to_*_semseg.py``), independently of the name tables
under test.
"""
from pathlib import Path
from typing import Dict, Sequence

import cv2
import numpy as np
from PIL import Image

H, W = 4, 8

#: MADM's DELIVER test ``label_convert`` ([DELIVER class id, MADM id]; file value = id + 1).
MADM_DELIVER_CONVERT = [[0, 1], [1, 2], [2, 255], [3, 3], [4, 4], [5, 5], [6, 5], [7, 6], [8, 7],
                        [9, 8], [10, 9], [11, 10], [12, 0], [13, 255], [14, 255], [15, 255],
                        [16, 255], [17, 10], [18, 255], [19, 255], [20, 255], [21, 7], [22, 8],
                        [23, 8], [24, 8]]
#: MADM's Cityscapes -> 11 classes ``label_convert`` (depth and event training sets).
MADM_CITYSCAPES_TO_11 = [[0, 5], [1, 6], [2, 1], [3, 9], [4, 2], [5, 4], [6, 10], [7, 10],
                         [8, 7], [9, 7], [10, 0], [11, 3], [12, 3], [13, 8], [14, 8], [15, 8],
                         [16, 8], [17, 8], [18, 8]]
#: MADM's Cityscapes -> 9 classes ``label_convert`` (infrared training set).
MADM_CITYSCAPES_TO_9 = [[0, 4], [1, 5], [2, 1], [3, 255], [4, 255], [5, 3], [6, 8], [7, 8],
                        [8, 6], [9, 6], [10, 0], [11, 2], [12, 2], [13, 7], [14, 7], [15, 7],
                        [16, 7], [17, 7], [18, 7]]
#: MADM's FMB test ``label_convert``.
MADM_FMB_CONVERT = [[0, 255], [1, 4], [2, 5], [3, 1], [4, 8], [5, 8], [6, 6], [7, 0], [8, 2],
                    [9, 7], [10, 7], [11, 7], [12, 7], [13, 7], [14, 3]]
#: MADM's palettes (flat RGB lists of the official configs).
MADM_PALETTE_11 = [70, 130, 180, 70, 70, 70, 190, 153, 153, 220, 20, 60, 153, 153, 153, 128, 64,
                   128, 244, 35, 232, 107, 142, 35, 0, 0, 142, 102, 102, 156, 250, 170, 30]
MADM_PALETTE_9 = [70, 130, 180, 70, 70, 70, 220, 20, 60, 153, 153, 153, 128, 64, 128, 244, 35,
                  232, 107, 142, 35, 0, 0, 142, 250, 170, 30]

#: DELIVER semantic red-channel values of the test frame: unlabelled, Building, RoadLine, Road,
#: TrafficLight, TrafficSign, Other, Terrain / TwoWheeler, Truck, Sky, Pedestrian, Wall, Fence,
#: Pole, SideWalk, Vegetation, Cars, Bus, Water, 255, ...
DELIVER_RAW = np.array([[0, 1, 6, 7, 18, 12, 3, 22],
                        [23, 25, 13, 4, 11, 2, 5, 8],
                        [9, 10, 24, 21, 255, 0, 7, 7],
                        [13, 13, 13, 13, 7, 7, 7, 7]], np.uint8)
#: The same frame in MADM ids, by hand: 0 -> 255, Building 1, RoadLine/Road 5, TrafficLight/
#: TrafficSign 10, Other 255, Terrain 7 / TwoWheeler 8, Truck 8, Sky 0, Pedestrian 3, Wall 9,
#: Fence 2, Pole 4, SideWalk 6 / Vegetation 7, Cars 8, Bus 8, Water 255, 255 ...
DELIVER_MADM = np.array([[255, 1, 5, 5, 10, 10, 255, 7],
                         [8, 8, 0, 3, 9, 2, 4, 6],
                         [7, 8, 8, 255, 255, 255, 5, 5],
                         [0, 0, 0, 0, 5, 5, 5, 5]], np.uint8)

#: FMB label values 0..14 and 255, and their MADM 9-class ids by hand.
FMB_RAW = np.array([[0, 1, 2, 3, 4, 5, 6, 7],
                    [8, 9, 10, 11, 12, 13, 14, 255],
                    [1, 1, 1, 1, 7, 7, 7, 7],
                    [8, 8, 14, 14, 3, 3, 0, 0]], np.uint8)
FMB_MADM = np.array([[255, 4, 5, 1, 8, 8, 6, 0],
                     [2, 7, 7, 7, 7, 7, 3, 255],
                     [4, 4, 4, 4, 0, 0, 0, 0],
                     [2, 2, 3, 3, 1, 1, 255, 255]], np.uint8)

#: Cityscapes trainIds 0..18 and 255 on one 4x8 frame (row-major, padded with road).
CITYSCAPES_TRAIN_IDS = np.array(list(range(19)) + [255] + [0] * 12, np.uint8).reshape(H, W)


def write_gray(path: Path, array: np.ndarray) -> None:
    """Write a single-channel uint8/uint16 PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB array as a PNG (OpenCV stores BGR, so channels are swapped)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))


def modality_image(seed: int, shape=(H, W)) -> np.ndarray:
    """A random single-channel 8-bit image."""
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def deliver_semantic(values: np.ndarray, seed: int = 0) -> np.ndarray:
    """DELIVER semantic RGB image: the values in red, noise in green and blue (must be ignored)."""
    rgb = np.random.default_rng(seed).integers(0, 256, values.shape + (3, ), dtype=np.uint8)
    rgb[..., 0] = values
    return rgb


CONDITIONS = ('cloud', 'fog', 'night', 'rain', 'sun')


def make_deliver_tree(root: Path, conditions: Sequence[str] = CONDITIONS,
                      frames: Dict[str, int] = None) -> Path:
    """DELIVER layout: per condition and split, ``frames[split]`` frames in one sequence.

    Every frame's label is :data:`DELIVER_RAW`; a back-camera depth image next to each front
    one must be ignored by the dataset.
    """
    frames = frames or dict(train=2, test=1)
    for c, cond in enumerate(conditions):
        for split, count in frames.items():
            for i in range(count):
                sub = Path(cond) / split / 'MAP_1_point1'
                name = f'{c:02d}{i:04d}'
                write_gray(root / 'depth' / sub / f'{name}_depth_front.png', modality_image(i))
                write_gray(root / 'depth' / sub / f'{name}_depth_back.png', modality_image(i))
                write_rgb(root / 'semantic' / sub / f'{name}_semantic_front.png',
                          deliver_semantic(DELIVER_RAW, seed=i))
    return root


def make_fmb_tree(root: Path, names=('00001', '00002')) -> Path:
    """FMB layout: train/test Infrared images and Label maps (:data:`FMB_RAW`)."""
    for s, split in enumerate(('train', 'test')):
        for i, name in enumerate(names):
            write_gray(root / split / 'Infrared' / f'{name}.png', modality_image(10 * s + i))
            write_gray(root / split / 'Label' / f'{name}.png', FMB_RAW)
    return root


def make_dsec_tree(root: Path) -> Path:
    """DSEC (MADM edges) layout: training edges, test edges and 11/19-class test labels."""
    for i in range(2):
        write_gray(root / '69mask_train_edges' / 'zurich_city_00_a' / f'{2 * i:06d}.png',
                   modality_image(i))
    for i in range(2):
        write_rgb(root / '69mask_test_edges' / 'zurich_city_13_a' / f'{i:06d}.png',
                  np.stack([modality_image(i)] * 3, axis=-1))
        labels = root / 'test_semantic_labels' / 'zurich_city_13_a'
        write_gray(labels / '11classes' / f'{i:06d}.png', np.full((H, W), 5, np.uint8))
        write_gray(labels / '19classes' / f'{i:06d}.png', np.full((H, W), 15, np.uint8))
    return root


def make_cityscapes_train_ids_tree(root: Path, train_ids: np.ndarray = CITYSCAPES_TRAIN_IDS,
                                   shape=(H, W)) -> Path:
    """Cityscapes layout with converted ``*_gtFine_labelTrainIds.png`` written directly."""
    name = 'aachen_000000_000019'
    image = np.random.default_rng(0).integers(0, 256, shape + (3, ), dtype=np.uint8)
    path = root / 'leftImg8bit' / 'train' / 'aachen' / f'{name}_leftImg8bit.png'
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    write_gray(root / 'gtFine' / 'train' / 'aachen' / f'{name}_gtFine_labelTrainIds.png',
               train_ids)
    return root
