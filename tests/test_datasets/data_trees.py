"""Tiny on-disk GTA5 / SYNTHIA / Cityscapes trees with hand-counted labels (8x16 pixels).

Each builder writes the dataset's *raw* label format (what the converters read) and returns the
expected trainId maps, so tests compare the converters against hand-made values.
"""
import importlib.util
import json
from pathlib import Path
from typing import Dict

import cv2
import numpy as np
from cityscapesscripts.helpers.labels import labels as cityscapes_labels
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
H, W = 8, 16


def load_converter(name: str):
    """Import ``tools/dataset_converters/<name>.py`` as a module."""
    path = REPO_ROOT / 'tools' / 'dataset_converters' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'dataset_converter_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_json(path: Path):
    with open(path) as f:
        return json.load(f)


def read_png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def write_rgb(path: Path, shape=(H, W), seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)


def write_palette_label(path: Path, ids: np.ndarray) -> None:
    """GTA5 format: 8-bit palette PNG whose indices are Cityscapes label ids."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(ids.astype(np.uint8))
    palette = np.zeros((256, 3), np.uint8)
    for label in cityscapes_labels:
        if label.id >= 0:
            palette[label.id] = label.color
    image.putpalette(palette.ravel().tolist())
    assert image.mode == 'P'
    image.save(path)


def write_gray_label(path: Path, ids: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(ids.astype(np.uint8)).save(path)


def write_synthia_label(path: Path, ids: np.ndarray) -> None:
    """SYNTHIA format: 16-bit 3-channel PNG, class id in the last channel (OpenCV order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = np.zeros((*ids.shape, 3), np.uint16)
    raw[..., 0] = 7  # instance ids live in the other channels; they must be ignored
    raw[..., 1] = 300
    raw[..., 2] = ids
    assert cv2.imwrite(str(path), raw)


def upscale(ids: np.ndarray, factor: int) -> np.ndarray:
    return np.kron(ids, np.ones((factor, factor), ids.dtype))


# --------------------------------------------------------------------------------------------
# GTA5: three frames. Label ids (Cityscapes) -> trainIds: 23 sky -> 10, 7 road -> 0,
# 26 car -> 13, 33 bicycle -> 18, 0 unlabeled -> 255, 21 vegetation -> 8, 24 person -> 11.
# --------------------------------------------------------------------------------------------
def gta5_label_ids() -> Dict[str, np.ndarray]:
    frame0 = np.full((H, W), 23)  # rows 0-3 sky: 64 px
    frame0[4:, :8] = 7  # road: 32 px
    frame0[4:, 8:] = 26  # car: 32 px
    frame1 = np.full((H, W), 7)  # road: 128 - 8 - 4 = 116 px
    frame1[0:2, 0:4] = 33  # bicycle: 8 px
    frame1[6:8, 14:16] = 0  # unlabeled: 4 px
    frame2 = np.full((H, W), 21)  # vegetation: 64 px
    frame2[4:] = 24  # person: 64 px
    return {'00000': frame0, '00001': frame1, '00002': frame2}


GTA5_STATS = [
    {'file': 'labels/00000_labelTrainIds.png', '0': 32, '10': 64, '13': 32},
    {'file': 'labels/00001_labelTrainIds.png', '0': 116, '18': 8},
    {'file': 'labels/00002_labelTrainIds.png', '8': 64, '11': 64},
]
GTA5_SAMPLES_WITH_CLASS = {
    '0': [['labels/00000_labelTrainIds.png', 32], ['labels/00001_labelTrainIds.png', 116]],
    '8': [['labels/00002_labelTrainIds.png', 64]],
    '10': [['labels/00000_labelTrainIds.png', 64]],
    '11': [['labels/00002_labelTrainIds.png', 64]],
    '13': [['labels/00000_labelTrainIds.png', 32]],
    '18': [['labels/00001_labelTrainIds.png', 8]],
}


def gta5_train_ids() -> Dict[str, np.ndarray]:
    lut = {23: 10, 7: 0, 26: 13, 33: 18, 0: 255, 21: 8, 24: 11}
    return {name: np.vectorize(lut.get)(ids).astype(np.uint8)
            for name, ids in gta5_label_ids().items()}


def make_gta5_tree(root: Path, factor: int = 1) -> Path:
    for i, (name, ids) in enumerate(gta5_label_ids().items()):
        write_rgb(root / 'images' / f'{name}.png', (H * factor, W * factor), seed=i)
        write_palette_label(root / 'labels' / f'{name}.png', upscale(ids, factor))
    return root


# --------------------------------------------------------------------------------------------
# SYNTHIA: two frames. SYNTHIA ids -> trainIds: 1 sky -> 10, 3 road -> 0, 22 lanemarking -> 255,
# 8 car -> 13, 10 pedestrian -> 11.
# --------------------------------------------------------------------------------------------
def synthia_label_ids() -> Dict[str, np.ndarray]:
    frame0 = np.full((H, W), 1)  # sky: 64 px
    frame0[4:] = 3  # road: 64 - 16 = 48 px
    frame0[4:, 12:] = 22  # lanemarking (ignored): 16 px
    frame1 = np.full((H, W), 8)  # car: 120 px
    frame1[:, 0] = 10  # pedestrian: 8 px
    return {'0000000': frame0, '0000001': frame1}


SYNTHIA_STATS = [
    {'file': 'GT/LABELS/0000000_labelTrainIds.png', '0': 48, '10': 64},
    {'file': 'GT/LABELS/0000001_labelTrainIds.png', '11': 8, '13': 120},
]


def synthia_train_ids() -> Dict[str, np.ndarray]:
    lut = {1: 10, 3: 0, 22: 255, 8: 13, 10: 11}
    return {name: np.vectorize(lut.get)(ids).astype(np.uint8)
            for name, ids in synthia_label_ids().items()}


def make_synthia_tree(root: Path) -> Path:
    for i, (name, ids) in enumerate(synthia_label_ids().items()):
        write_rgb(root / 'RGB' / f'{name}.png', seed=10 + i)
        write_synthia_label(root / 'GT' / 'LABELS' / f'{name}.png', ids)
    return root


# --------------------------------------------------------------------------------------------
# Cityscapes: train frame A as *_gtFine_labelIds.png, train frame B only as polygons JSON, one
# val frame as *_gtFine_labelIds.png. The statistics cover the train split only (DAFormer).
# --------------------------------------------------------------------------------------------
CS_TRAIN_A = 'aachen_000000_000019'
CS_TRAIN_B = 'aachen_000001_000019'
CS_VAL = 'frankfurt_000000_000294'


def cityscapes_frame_a() -> np.ndarray:
    ids = np.full((H, W), 7)  # road -> 0: 64 px
    ids[4:] = 26  # car -> 13: 64 px
    return ids


def cityscapes_polygons_b() -> dict:
    """Building over the whole frame, then a person square (16 px, PIL fills the border) and a
    'cargroup' square (4 px, mapped to car as cityscapesscripts does)."""
    return {
        'imgHeight': H,
        'imgWidth': W,
        'objects': [
            {'label': 'building', 'polygon': [[0, 0], [15, 0], [15, 7], [0, 7]]},
            {'label': 'person', 'polygon': [[0, 0], [3, 0], [3, 3], [0, 3]]},
            {'label': 'cargroup', 'polygon': [[8, 4], [9, 4], [9, 5], [8, 5]]},
        ],
    }


def cityscapes_train_ids_b() -> np.ndarray:
    ids = np.full((H, W), 2, np.uint8)  # building: 128 - 16 - 4 = 108 px
    ids[0:4, 0:4] = 11  # person
    ids[4:6, 8:10] = 13  # car
    return ids


CITYSCAPES_STATS = [
    {'file': f'gtFine/train/aachen/{CS_TRAIN_A}_gtFine_labelTrainIds.png', '0': 64, '13': 64},
    {'file': f'gtFine/train/aachen/{CS_TRAIN_B}_gtFine_labelTrainIds.png', '2': 108, '11': 16,
     '13': 4},
]


def make_cityscapes_tree(root: Path, factor: int = 1) -> Path:
    shape = (H * factor, W * factor)
    for split, city, name in (('train', 'aachen', CS_TRAIN_A), ('train', 'aachen', CS_TRAIN_B),
                              ('val', 'frankfurt', CS_VAL)):
        write_rgb(root / 'leftImg8bit' / split / city / f'{name}_leftImg8bit.png', shape)
    gt = root / 'gtFine'
    write_gray_label(gt / 'train' / 'aachen' / f'{CS_TRAIN_A}_gtFine_labelIds.png',
                     upscale(cityscapes_frame_a(), factor))
    polygons = cityscapes_polygons_b()
    if factor != 1:  # only the unscaled polygons are hand-counted; scale via a labelIds PNG
        write_gray_label(gt / 'train' / 'aachen' / f'{CS_TRAIN_B}_gtFine_labelIds.png',
                         upscale(np.full((H, W), 11), factor))
    else:
        path = gt / 'train' / 'aachen' / f'{CS_TRAIN_B}_gtFine_polygons.json'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(polygons))
    write_gray_label(gt / 'val' / 'frankfurt' / f'{CS_VAL}_gtFine_labelIds.png',
                     upscale(np.full((H, W), 11), factor))
    return root
