# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Validation helpers shared by the datasets, the loading transforms and the converters.

Every check raises an error that names the offending file or directory and says how to fix it
(which archive to download, which converter to run), so that a wrong data setup fails on the
first sample instead of as a shape or CUDA error deep inside training.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np


@dataclass(frozen=True)
class DatasetLayout:
    """Where a dataset comes from, how its tree looks and which converter prepares it.

    Args:
        name (str): Human-readable dataset name.
        tree (str): The expected directory tree below the data root.
        download (str): Where to download the dataset.
        converter (str): The converter script, relative to the repository root.
    """
    name: str
    tree: str
    download: str
    converter: str

    def convert_command(self, data_root: Optional[str]) -> str:
        """Return the shell command that writes the trainId labels and RCS statistics."""
        return f'python {self.converter} {data_root or "<data_root>"}'

    def describe(self, data_root: Optional[str]) -> str:
        """Return the layout, download and converter instructions as one message block."""
        return (f'{self.name} expects this layout below the data root:\n{self.tree}\n'
                f'Download it from {self.download}, then run '
                f'`{self.convert_command(data_root)}`.')


#: Layout, download page and converter of each dataset with a converter, keyed by the
#: registered dataset type (mmseg's ``CityscapesDataset`` is used as is).
DATASET_LAYOUTS: Dict[str, DatasetLayout] = dict(
    GTA5Dataset=DatasetLayout(
        name='GTA5',
        tree=('  images/00001.png ...                 (RGB frames)\n'
              '  labels/00001.png ...                 (palette PNGs of Cityscapes label ids)\n'
              '  labels/00001_labelTrainIds.png ...   (written by the converter)'),
        download='https://download.visinf.tu-darmstadt.de/data/from_games/',
        converter='tools/dataset_converters/gta5.py'),
    SynthiaDataset=DatasetLayout(
        name='SYNTHIA-RAND-CITYSCAPES',
        tree=('  RGB/0000000.png ...                      (RGB frames)\n'
              '  GT/LABELS/0000000.png ...                (16-bit PNGs, class id in the last '
              'channel)\n'
              '  GT/LABELS/0000000_labelTrainIds.png ...  (written by the converter)'),
        download='http://synthia-dataset.net/downloads/ (SYNTHIA-RAND-CITYSCAPES)',
        converter='tools/dataset_converters/synthia.py'),
    CityscapesDataset=DatasetLayout(
        name='Cityscapes',
        tree=('  leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png\n'
              '  gtFine/{train,val}/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png '
              '(or _gtFine_polygons.json)\n'
              '  gtFine/{train,val}/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png '
              '(written by the converter)'),
        download=('https://www.cityscapes-dataset.com/downloads/ '
                  '(leftImg8bit_trainvaltest.zip, gtFine_trainvaltest.zip)'),
        converter='tools/dataset_converters/cityscapes.py'),
)

#: Hint for errors raised where the dataset type is unknown (inside a transform).
CONVERTER_HINT = ('trainId label maps are written by the dataset converters: '
                  '`python tools/dataset_converters/{gta5,synthia,cityscapes}.py <data_root>`')


def check_data_dirs(dataset_type: str, layout: DatasetLayout, data_root: Optional[str],
                    dirs: Sequence[str]) -> None:
    """Raise if a directory the dataset reads from does not exist.

    Args:
        dataset_type (str): Dataset class name (named in the error).
        layout (DatasetLayout): The dataset's layout, download page and converter.
        data_root (str, optional): The dataset's data root (used in the fix command).
        dirs (Sequence[str]): Directories that must exist (already joined with the data root).

    Raises:
        FileNotFoundError: Naming the first missing directory, the expected layout, the
            download page and the converter command.
    """
    for path in dirs:
        if not osp.isdir(path):
            raise FileNotFoundError(
                f'{dataset_type}: directory {path!r} does not exist '
                f'(data_root={data_root!r}).\n{layout.describe(data_root)}')


def check_converted_labels(dataset_type: str, layout: DatasetLayout, data_root: Optional[str],
                           data_list: List[dict], img_dir: str) -> None:
    """Raise if the dataset found no images or if trainId label maps are missing.

    Args:
        dataset_type (str): Dataset class name (named in the error).
        layout (DatasetLayout): The dataset's layout, download page and converter.
        data_root (str, optional): The dataset's data root (used in the fix command).
        data_list (list[dict]): The dataset's data infos (``img_path``, ``seg_map_path``).
        img_dir (str): The image directory that was listed.

    Raises:
        FileNotFoundError: If no image was found, or naming the first missing label map and
            the converter command.
    """
    if not data_list:
        raise FileNotFoundError(
            f'{dataset_type}: no images found in {img_dir!r}.\n{layout.describe(data_root)}')
    missing = [info['seg_map_path'] for info in data_list
               if 'seg_map_path' in info and not osp.isfile(info['seg_map_path'])]
    if missing:
        raise FileNotFoundError(
            f'{dataset_type}: {len(missing)} of {len(data_list)} trainId label maps are missing, '
            f'e.g. {missing[0]!r}. Convert the labels with '
            f'`{layout.convert_command(data_root)}`.')


class DataLayoutMixin:
    """Checks the directory layout and the converted labels of a ``BaseSegDataset`` subclass.

    Put it before ``BaseSegDataset`` in the bases and set ``LAYOUT``; ``load_data_list`` then
    fails with the expected tree, the download page and the converter command when a folder,
    the images or the converted label maps are missing.
    """
    LAYOUT: DatasetLayout

    def load_data_list(self) -> List[dict]:
        """List the image/label pairs after checking the directory layout.

        Returns:
            list[dict]: One data info per image (``img_path``, ``seg_map_path``, ...).
        """
        name = type(self).__name__
        dirs = [path for path in self.data_prefix.values() if path]
        check_data_dirs(name, self.LAYOUT, self.data_root, dirs)
        data_list = super().load_data_list()
        check_converted_labels(name, self.LAYOUT, self.data_root, data_list,
                               self.data_prefix.get('img_path', ''))
        return data_list


def check_label_shape(label: np.ndarray, image_shape: Sequence[int], label_path: str,
                      img_path: str) -> None:
    """Raise if a label map is not single-channel or its size differs from its image.

    Args:
        label (np.ndarray): The loaded label map.
        image_shape (Sequence[int]): ``(H, W)`` of the image as read from disk.
        label_path (str): Path of the label map (named in the error).
        img_path (str): Path of the image (named in the error).

    Raises:
        ValueError: On a multi-channel label or an image/label size mismatch.
    """
    if label.ndim != 2:
        raise ValueError(
            f'label map {label_path!r} has shape {label.shape}: expected a single-channel PNG '
            f'of trainIds. {CONVERTER_HINT}.')
    if tuple(label.shape) != tuple(image_shape[:2]):
        raise ValueError(
            f'label map {label_path!r} is {label.shape[0]}x{label.shape[1]} (HxW) but its image '
            f'{img_path!r} is {image_shape[0]}x{image_shape[1]}: the pair does not belong '
            'together or one file is truncated/resized; replace the pair or drop it from the '
            'dataset.')


def check_label_ids(label: np.ndarray, num_classes: int, ignore_index: int,
                    label_path: str) -> None:
    """Raise if a label map holds ids that are neither a class nor the ignore index.

    Args:
        label (np.ndarray): The label map after ``label_map``/``reduce_zero_label``.
        num_classes (int): Number of classes of the dataset.
        ignore_index (int): The ignored id (255).
        label_path (str): Path of the label map (named in the error).

    Raises:
        ValueError: Naming the file, the offending ids and the class count.
    """
    invalid = (label >= num_classes) & (label != ignore_index)
    if invalid.any():
        bad_ids = np.unique(label[invalid]).tolist()
        raise ValueError(
            f'wrong class count: label map {label_path!r} holds ids {bad_ids} but the dataset has '
            f'num_classes={num_classes} (valid ids: 0..{num_classes - 1} and {ignore_index}). '
            'Set `num_classes` of LoadSegLabel to the dataset\'s class count, pass a class subset '
            'through the dataset\'s `metainfo=dict(classes=...)` so labels are remapped, or '
            f're-run the converter for this dataset ({CONVERTER_HINT}).')
