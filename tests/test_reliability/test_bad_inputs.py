"""Damaged or inconsistent data fails on the first sample with the file and the fix named."""
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from PIL import Image

import mmseg_diffuda  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
init_default_scope('mmseg')


def uda_cfg(toy: Path) -> dict:
    """The toy DAFormer training set (UDADataset with RCS) on the tree ``toy``."""
    dataset = Config.fromfile(REPO / 'configs/toy/daformer_mitb0-tiny_toy.py').train_dataloader
    dataset = dataset.dataset
    dataset.source.data_root = f'{toy}/gta/'
    dataset.target.data_root = f'{toy}/cityscapes/'
    return dataset


def source(toy: Path):
    return DATASETS.build(uda_cfg(toy).source)


def first_pair(toy: Path):
    info = source(toy).get_data_info(0)
    return Path(info['img_path']), Path(info['seg_map_path'])


def test_truncated_image(toy):
    image, _ = first_pair(toy)
    image.write_bytes(image.read_bytes()[:100])
    with pytest.raises(OSError, match=f'cannot decode image .*{image.name}.*truncated.*'
                       're-extract'):
        source(toy)[0]


def test_corrupt_label(toy):
    _, label = first_pair(toy)
    label.write_bytes(b'not a png at all')
    with pytest.raises(OSError, match=f'cannot decode label map .*{label.name}.*re-run the '
                       'converter'):
        source(toy)[0]


def test_label_ids_out_of_range(toy):
    _, label = first_pair(toy)
    ids = np.array(Image.open(label))
    ids[:4, :4] = 30
    Image.fromarray(ids).save(label)
    with pytest.raises(ValueError, match=rf'{label.name}.* holds ids \[30\] .*num_classes=19'):
        source(toy)[0]


def test_image_label_size_mismatch(toy):
    image, label = first_pair(toy)
    Image.open(label).resize((50, 40), Image.NEAREST).save(label)
    with pytest.raises(ValueError, match=f'{label.name}.* is 40x50 .*{image.name}.* is 96x192'):
        source(toy)[0]


def test_missing_rcs_statistics(toy):
    stats = toy / 'gta' / 'sample_class_stats.json'
    stats.unlink()
    with pytest.raises(FileNotFoundError, match=f'{stats}.*tools/dataset_converters/gta5.py'):
        DATASETS.build(uda_cfg(toy))


def test_empty_source_split(toy):
    for path in (toy / 'gta' / 'images').iterdir():
        path.unlink()
    with pytest.raises(FileNotFoundError, match=r'GTA5Dataset: no images found in .*images'):
        source(toy)


def test_empty_target_split(toy):
    for path in (toy / 'cityscapes' / 'leftImg8bit' / 'train').rglob('*.png'):
        path.unlink()
    with pytest.raises(ValueError, match=r'(?s)target dataset CityscapesDataset is empty: no image '
                       r'in .*leftImg8bit/train.*cityscapes.py'):
        DATASETS.build(uda_cfg(toy))
