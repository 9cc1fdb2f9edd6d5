# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Label-id -> trainId conversion and rare class sampling statistics for the converters.

``tools/dataset_converters/{gta5,synthia,cityscapes}.py`` are thin command-line wrappers around
this module: each maps its dataset's label ids to Cityscapes trainIds, writes
``*_labelTrainIds.png`` and the two statistics files read by rare class sampling (DAFormer,
Hoyer et al., CVPR 2022, official ``tools/convert_datasets/{gta,synthia,cityscapes}.py``):

- ``sample_class_stats.json``: ``[{"file": <label path relative to the output root>,
  "<trainId>": <pixel count>, ...}, ...]`` with only the classes present in the file;
- ``samples_with_class.json``: ``{"<trainId>": [[<file>, <pixel count>], ...]}``.

The per-file workers live here (not in the scripts) so that ``multiprocessing`` can pickle them.
"""
import argparse
import json
import os
import os.path as osp
from functools import partial
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.helpers.labels import labels as cityscapes_labels
from cityscapesscripts.helpers.labels import name2label
from cityscapesscripts.preparation.json2labelImg import createLabelImage
from mmengine.utils import track_parallel_progress, track_progress
from PIL import Image

from .checks import DATASET_LAYOUTS, check_data_dirs
from .rare_class_sampling import STATS_FILE
from .synthia import SYNTHIA_ID_TO_TRAINID, SYNTHIA_IGNORED_IDS

#: Suffix of every converted label map.
TRAIN_IDS_SUFFIX = '_labelTrainIds.png'
#: Number of Cityscapes evaluation classes (trainIds 0..18).
NUM_CITYSCAPES_CLASSES = 19
IGNORE_INDEX = 255
SAMPLES_WITH_CLASS_FILE = 'samples_with_class.json'

#: Statistics entry of one converted file (``{"file": ..., "<trainId>": count}``), or None
#: when the file's split is not counted.
FileStats = Optional[Dict[str, object]]


def cityscapes_id_to_train_id() -> Dict[int, int]:
    """Return Cityscapes label id -> trainId from ``cityscapesscripts.helpers.labels``.

    Ids 0..33 are all in the table; classes that are not evaluated (trainId 255 or -1) map to
    255. The license plate (id -1) never appears in a label image and is left out.

    Returns:
        dict[int, int]: The mapping used for GTA5 and Cityscapes label maps.
    """
    return {
        label.id: label.trainId if 0 <= label.trainId < IGNORE_INDEX else IGNORE_INDEX
        for label in cityscapes_labels if label.id >= 0
    }


def synthia_id_to_train_id() -> Dict[int, int]:
    """Return SYNTHIA class id -> trainId, with the ids that have no Cityscapes class as 255.

    Returns:
        dict[int, int]: :data:`SYNTHIA_ID_TO_TRAINID` plus ``{void, parking-slot, road-work,
        lanemarking: 255}``; ids above 22 are not SYNTHIA ids.
    """
    mapping = dict(SYNTHIA_ID_TO_TRAINID)
    mapping.update({label_id: IGNORE_INDEX for label_id in SYNTHIA_IGNORED_IDS})
    return mapping


def map_label_ids(ids: np.ndarray, mapping: Mapping[int, int], path: str,
                  table_name: str) -> np.ndarray:
    """Map a label-id image to trainIds, rejecting ids that are not in the table.

    Args:
        ids (np.ndarray): Integer label ids, shape (H, W).
        mapping (Mapping[int, int]): Label id -> trainId (255 = ignored) for every valid id.
        path (str): The label file (named in the error).
        table_name (str): Where the table comes from (named in the error).

    Returns:
        np.ndarray: uint8 trainIds, shape (H, W).

    Raises:
        ValueError: Naming the file and the ids that are not in ``mapping``.
    """
    present = np.unique(ids)
    unknown = [int(i) for i in present if int(i) not in mapping]
    if unknown:
        valid = sorted(mapping)
        valid_text = (f'{valid[0]}..{valid[-1]}' if valid == list(range(valid[0], valid[-1] + 1))
                      else str(valid))
        raise ValueError(
            f'label map {path!r} holds ids {unknown} that are not in the {table_name} id table '
            f'(valid ids: {valid_text}): the file is not a label map of this dataset or it is '
            'corrupted; replace it with the original from the dataset archive.')
    lut = np.full(int(present.max()) + 1, IGNORE_INDEX, dtype=np.uint8)
    for label_id, train_id in mapping.items():
        if label_id < lut.size:
            lut[label_id] = train_id
    return lut[ids]


def class_pixel_counts(train_ids: np.ndarray,
                       num_classes: int = NUM_CITYSCAPES_CLASSES) -> Dict[str, int]:
    """Count the pixels of each class present in a trainId map.

    Args:
        train_ids (np.ndarray): uint8 trainIds.
        num_classes (int): Classes 0..num_classes-1 are counted; 255 is not.

    Returns:
        dict[str, int]: ``{"<trainId>": count}`` for the classes with at least one pixel (keys are
        strings, as JSON writes them).
    """
    counts = np.bincount(train_ids.ravel(), minlength=256)[:num_classes]
    return {str(c): int(n) for c, n in enumerate(counts) if n > 0}


def write_train_ids(train_ids: np.ndarray, out_path: str) -> None:
    """Write a trainId map as an 8-bit single-channel PNG, creating its folder."""
    os.makedirs(osp.dirname(out_path) or '.', exist_ok=True)
    Image.fromarray(train_ids.astype(np.uint8)).save(out_path)  # 2-D uint8 -> mode 'L'


def _write_and_count(train_ids: np.ndarray, out_root: str, out_rel: str, count: bool) -> FileStats:
    """Write one converted map and return its statistics entry (None when not counted)."""
    write_train_ids(train_ids, osp.join(out_root, out_rel))
    if not count:
        return None
    return {'file': out_rel, **class_pixel_counts(train_ids)}


def convert_gta5_label(rel_path: str, data_root: str, out_root: str) -> FileStats:
    """Convert one GTA5 label (palette PNG of Cityscapes label ids) to trainIds.

    Args:
        rel_path (str): Label path relative to ``data_root``, e.g. 'labels/00001.png'.
        data_root (str): The GTA5 data root.
        out_root (str): Output root; the trainId map goes to the same relative path.

    Returns:
        dict: The statistics entry of the file.
    """
    path = osp.join(data_root, rel_path)
    with Image.open(path) as image:
        if image.mode not in ('P', 'L'):
            raise ValueError(
                f'GTA5 label {path!r} has PIL mode {image.mode!r}: expected an 8-bit palette (P) '
                'PNG of Cityscapes label ids as shipped in the GTA5 labels archive.')
        ids = np.asarray(image)
    train_ids = map_label_ids(ids, cityscapes_id_to_train_id(), path,
                              'Cityscapes (cityscapesscripts.helpers.labels)')
    return _write_and_count(train_ids, out_root, train_ids_path(rel_path, '.png'), count=True)


def convert_synthia_label(rel_path: str, data_root: str, out_root: str) -> FileStats:
    """Convert one SYNTHIA-RAND-CITYSCAPES label to trainIds.

    The class id is the last channel of the 16-bit PNG; PIL cannot read these files, so OpenCV
    reads them unchanged (as DAFormer's ``tools/convert_datasets/synthia.py`` does).

    Args:
        rel_path (str): Label path relative to ``data_root``, e.g. 'GT/LABELS/0000000.png'.
        data_root (str): The SYNTHIA data root.
        out_root (str): Output root; the trainId map goes to the same relative path.

    Returns:
        dict: The statistics entry of the file.
    """
    path = osp.join(data_root, rel_path)
    raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if raw is None or raw.ndim != 3:
        shape = None if raw is None else raw.shape
        raise ValueError(
            f'SYNTHIA label {path!r} could not be read as a multi-channel PNG (got shape {shape}): '
            'expected the 16-bit GT/LABELS PNG of SYNTHIA-RAND-CITYSCAPES whose last channel is '
            'the class id; re-extract it from the dataset archive.')
    train_ids = map_label_ids(raw[:, :, -1], synthia_id_to_train_id(), path,
                              'SYNTHIA-RAND-CITYSCAPES (mmseg_diffuda.datasets.synthia)')
    return _write_and_count(train_ids, out_root, train_ids_path(rel_path, '.png'), count=True)


def convert_cityscapes_label(rel_path: str, data_root: str, out_root: str,
                             count_split: str = 'train') -> FileStats:
    """Convert one Cityscapes annotation to ``*_gtFine_labelTrainIds.png``.

    ``*_gtFine_labelIds.png`` is mapped with the ``cityscapesscripts`` table; a
    ``*_gtFine_polygons.json`` is rasterised to label ids with ``cityscapesscripts``'
    ``createLabelImage`` (the function behind ``json2labelImg``) and mapped the same way.

    Args:
        rel_path (str): Annotation path relative to ``data_root``
            (``gtFine/<split>/<city>/<name>_gtFine_labelIds.png`` or ``..._polygons.json``).
        data_root (str): The Cityscapes data root.
        out_root (str): Output root; the trainId map goes to the same relative folder.
        count_split (str): Only files of this split enter the statistics (DAFormer counts the
            train split). Defaults to 'train'.

    Returns:
        dict, optional: The statistics entry of the file, None outside ``count_split``.
    """
    path = osp.join(data_root, rel_path)
    table = 'Cityscapes (cityscapesscripts.helpers.labels)'
    if rel_path.endswith('_polygons.json'):
        ids = np.asarray(_rasterize_polygons(path))
        suffix = '_polygons.json'
    else:
        with Image.open(path) as image:
            ids = np.asarray(image)
        if ids.ndim != 2:
            raise ValueError(f'Cityscapes label {path!r} has shape {ids.shape}: expected the '
                             'single-channel *_gtFine_labelIds.png.')
        suffix = '_labelIds.png'
    train_ids = map_label_ids(ids, cityscapes_id_to_train_id(), path, table)
    split = rel_path.replace(os.sep, '/').split('/')[1]
    return _write_and_count(train_ids, out_root, train_ids_path(rel_path, suffix),
                            count=split == count_split)


def _rasterize_polygons(path: str) -> Image.Image:
    """Rasterise a Cityscapes polygon annotation to label ids, rejecting unknown classes."""
    annotation = Annotation()
    annotation.fromJsonFile(path)
    unknown = sorted({obj.label for obj in annotation.objects
                      if not obj.deleted and _cityscapes_label_name(obj.label) is None})
    if unknown:
        raise ValueError(
            f'Cityscapes polygons {path!r} use labels {unknown} that are not in '
            'cityscapesscripts.helpers.labels; replace the file with the original annotation.')
    return createLabelImage(annotation, 'ids')


def _cityscapes_label_name(name: str) -> Optional[str]:
    """Return the known Cityscapes label name of a polygon label ('cargroup' -> 'car')."""
    if name in name2label:
        return name
    if name.endswith('group') and name[:-len('group')] in name2label:
        return name[:-len('group')]
    return None


def train_ids_path(rel_path: str, suffix: str) -> str:
    """Return the trainId map path of a label: ``suffix`` replaced by ``_labelTrainIds.png``.

    Args:
        rel_path (str): The source label path.
        suffix (str): The suffix to replace ('.png', '_labelIds.png', '_polygons.json').

    Returns:
        str: The output path (same folder).
    """
    if not rel_path.endswith(suffix):
        raise ValueError(f'{rel_path!r} does not end with {suffix!r}.')
    return rel_path[:-len(suffix)] + TRAIN_IDS_SUFFIX


def find_files(root: str, folder: str, suffix: str,
               exclude_suffix: Optional[str] = TRAIN_IDS_SUFFIX) -> List[str]:
    """List the files ending in ``suffix`` below ``root/folder``, relative to ``root``, sorted.

    Args:
        root (str): The data root.
        folder (str): Folder below the root to search recursively.
        suffix (str): Suffix of the wanted files.
        exclude_suffix (str, optional): Files with this suffix are skipped (the converter's own
            outputs, so converting a tree twice reads the same inputs).

    Returns:
        list[str]: Sorted relative paths with '/' separators.
    """
    found = []
    for dirpath, _, filenames in os.walk(osp.join(root, folder)):
        for name in filenames:
            if name.endswith(suffix) and not (exclude_suffix and name.endswith(exclude_suffix)):
                found.append(osp.relpath(osp.join(dirpath, name), root).replace(os.sep, '/'))
    return sorted(found)


def convert_files(worker: Callable[..., FileStats], rel_paths: Sequence[str], data_root: str,
                  out_root: str, nproc: int) -> List[Dict[str, object]]:
    """Run a per-file converter over all files with a progress bar, in ``nproc`` processes.

    Args:
        worker (Callable): One of the ``convert_*_label`` functions.
        rel_paths (Sequence[str]): Label paths relative to ``data_root``.
        data_root (str): The dataset root.
        out_root (str): Output root for the trainId maps and the statistics.
        nproc (int): Number of processes (``multiprocessing.Pool`` when > 1).

    Returns:
        list[dict]: The statistics entries of the counted files, in input order.
    """
    task = partial(worker, data_root=data_root, out_root=out_root)
    if nproc > 1:
        results = track_parallel_progress(task, list(rel_paths), nproc)
    else:
        results = track_progress(task, list(rel_paths))
    return [entry for entry in results if entry is not None]


def samples_with_class(sample_class_stats: Sequence[Mapping]) -> Dict[str, List[Tuple[str, int]]]:
    """Invert per-file statistics to ``{"<trainId>": [[file, count], ...]}``.

    Args:
        sample_class_stats (Sequence[Mapping]): Entries ``{"file": ..., "<trainId>": count}``.

    Returns:
        dict: Files containing each class with their pixel counts, classes in ascending order.
    """
    inverted: Dict[int, List[Tuple[str, int]]] = {}
    for entry in sample_class_stats:
        for key, count in entry.items():
            if key != 'file':
                inverted.setdefault(int(key), []).append((entry['file'], int(count)))
    return {str(c): inverted[c] for c in sorted(inverted)}


def save_class_stats(out_root: str, sample_class_stats: Sequence[Mapping]) -> None:
    """Write ``sample_class_stats.json`` and ``samples_with_class.json`` to ``out_root``.

    Args:
        out_root (str): Folder of the statistics (the data root the RCS dataset reads).
        sample_class_stats (Sequence[Mapping]): Entries ``{"file": ..., "<trainId>": count}``.
    """
    os.makedirs(out_root, exist_ok=True)
    with open(osp.join(out_root, STATS_FILE), 'w') as f:
        json.dump(list(sample_class_stats), f, indent=2)
    with open(osp.join(out_root, SAMPLES_WITH_CLASS_FILE), 'w') as f:
        json.dump(samples_with_class(sample_class_stats), f, indent=2)


def parse_converter_args(description: str,
                         argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the arguments shared by the converters: data root, ``--nproc``, ``--out-dir``.

    Args:
        description (str): The converter's help text.
        argv (Sequence[str], optional): Arguments (``sys.argv[1:]`` when None).

    Returns:
        argparse.Namespace: ``data_root``, ``nproc`` and ``out_dir``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('data_root', help='dataset root folder')
    parser.add_argument('--nproc', type=int, default=4, help='number of worker processes')
    parser.add_argument(
        '--out-dir', default=None,
        help='root of the written *_labelTrainIds.png tree and of the statistics (default: the '
        'data root). Use it for a read-only dataset: then point the dataset\'s data_root at it '
        'and its image prefix at the original images.')
    return parser.parse_args(argv)


def convert_dataset(dataset_type: str, args: argparse.Namespace, label_dir: str,
                    rel_paths: Sequence[str], worker: Callable[..., FileStats]) -> str:
    """Convert all label files of a dataset and write the RCS statistics.

    Converting the same tree twice reads the same inputs (outputs are excluded by
    :func:`find_files`) and overwrites the outputs with identical files.

    Args:
        dataset_type (str): Key of :data:`DATASET_LAYOUTS` (named in errors).
        args (argparse.Namespace): Parsed converter arguments.
        label_dir (str): The label folder below the data root (checked to exist).
        rel_paths (Sequence[str]): Label files relative to the data root.
        worker (Callable): The per-file converter.

    Returns:
        str: The output root holding the statistics.

    Raises:
        FileNotFoundError: When the label folder is missing or holds no label file, naming the
            expected layout and the download page.
    """
    layout = DATASET_LAYOUTS[dataset_type]
    check_data_dirs(f'{layout.name} converter', layout, args.data_root,
                    [osp.join(args.data_root, label_dir)])
    if not rel_paths:
        raise FileNotFoundError(
            f'{layout.name} converter: no label files found below '
            f'{osp.join(args.data_root, label_dir)!r}.\n{layout.describe(args.data_root)}')
    out_root = args.out_dir or args.data_root
    stats = convert_files(worker, rel_paths, args.data_root, out_root, args.nproc)
    save_class_stats(out_root, stats)
    print(f'{layout.name}: wrote {len(rel_paths)} trainId maps and the statistics of '
          f'{len(stats)} files to {out_root}')
    return out_root
