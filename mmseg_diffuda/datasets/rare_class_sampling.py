# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Rare Class Sampling (RCS) of DAFormer (Hoyer et al., CVPR 2022, Sec. 3.4).

Official code: ``mmseg/datasets/uda_dataset.py`` (``get_rcs_class_probs``,
``UDADataset.get_rare_class_sample``). With ``f_c`` the pixel frequency of class ``c`` in the
source set, a class is drawn with

.. math::

    P(c) = \\frac{e^{(1 - f_c) / T}}{\\sum_{c'} e^{(1 - f_{c'}) / T}},

then a source image holding more than ``min_pixels`` pixels of ``c`` uniformly, and the image
is re-cropped (up to 10 times) until the crop holds more than
``min_pixels * min_crop_ratio`` pixels of ``c``.
"""
import json
import logging
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.logging import print_log

STATS_FILE = 'sample_class_stats.json'


class RareClassSampler:
    """Class probabilities, file choice and re-crop test of DAFormer's rare class sampling.

    Faithful to the official ``uda_dataset.py``: classes with zero pixels get no probability,
    classes are ordered by ascending pixel count, and a class's candidate files are those with
    more than ``min_pixels`` of its pixels (counted in the full-resolution label). The per-class
    file lists are derived from the per-file statistics, which is what
    ``samples_with_class.json`` holds.

    One extension: where the official code asserts that every class with pixels has a
    candidate file, a class without one is left out of sampling with a warning (the others'
    probabilities renormalised), so that small toy sets with a few-pixel class still train.

    With ``crop_class_map`` the sampled classes are ids of the *original* label (e.g. the 19
    Cityscapes trainIds, as MADM's ``get_rcs_class_probs`` reads them) while the crops hold
    merged labels: the re-crop test counts the pixels of the merged class ``crop_class_map[c]``
    (see :meth:`accepts_crop`).

    Args:
        sample_class_stats (Sequence[Mapping]): One entry per source label map,
            ``{"file": <path>, "<class>": <pixel count>, ...}`` (the content of
            ``sample_class_stats.json``, restricted to the files of the dataset).
        class_temp (float): Temperature ``T``; smaller values favour rare classes more.
            Defaults to 0.01 (DAFormer).
        min_pixels (int): A file is a candidate for class ``c`` if it holds more than this many
            pixels of ``c``. Defaults to 3000 (DAFormer).
        min_crop_ratio (float): A crop is accepted if it holds more than
            ``min_pixels * min_crop_ratio`` pixels of ``c``; 0 disables re-cropping.
            Defaults to 0.5 (DAFormer; HRDA/MIC use 2.0 with 1024x1024 crops).
        stats_path (str): Where the statistics came from (named in errors). Defaults to
            'sample_class_stats.json'.
        crop_class_map (Mapping[int, int], optional): Original class id -> id in the cropped
            label (the dataset's ``label_map``) when the statistics hold original ids. Defaults
            to None (statistics and crops use the same ids).
    """
    #: Re-crops per sample before the last crop is kept regardless (official code: 10).
    MAX_RECROPS = 10

    def __init__(self,
                 sample_class_stats: Sequence[Mapping],
                 class_temp: float = 0.01,
                 min_pixels: int = 3000,
                 min_crop_ratio: float = 0.5,
                 stats_path: str = STATS_FILE,
                 crop_class_map: Optional[Mapping[int, int]] = None) -> None:
        if class_temp <= 0:
            raise ValueError(f'RareClassSampler: class_temp must be > 0, got {class_temp}.')
        self.class_temp = class_temp
        self.min_pixels = min_pixels
        self.min_crop_ratio = min_crop_ratio
        self.crop_class_map = dict(crop_class_map or {})
        totals = self._class_totals(sample_class_stats)
        if not totals:
            raise ValueError(f'{stats_path}: no class has any pixel in the dataset\'s files; '
                             'the statistics do not belong to this dataset.')
        classes = np.array(list(totals), dtype=np.int64)
        probs = self._softmax_probs(np.array(list(totals.values()), dtype=np.float64))
        files = self._candidate_files(sample_class_stats, classes)
        keep = self._classes_with_files(classes, files, stats_path)
        self.classes = classes[keep]
        self.class_probs = probs[keep] / probs[keep].sum()
        self.files_with_class = {c: files[c] for c in self.classes.tolist()}

    @staticmethod
    def _class_totals(sample_class_stats: Sequence[Mapping]) -> Dict[int, int]:
        """Sum the pixels of each class over all files; classes ordered by ascending count."""
        totals: Dict[int, int] = {}
        for entry in sample_class_stats:
            for key, count in entry.items():
                if key != 'file' and count > 0:
                    totals[int(key)] = totals.get(int(key), 0) + int(count)
        return dict(sorted(totals.items(), key=lambda item: item[1]))

    def _softmax_probs(self, counts: np.ndarray) -> np.ndarray:
        """Return ``softmax((1 - f_c) / T)`` with ``f_c = counts / counts.sum()``."""
        logits = (1.0 - counts / counts.sum()) / self.class_temp
        weights = np.exp(logits - logits.max())
        return weights / weights.sum()

    def _candidate_files(self, sample_class_stats: Sequence[Mapping],
                         classes: np.ndarray) -> Dict[int, List[str]]:
        """List, per class, the files holding more than ``min_pixels`` of it."""
        files: Dict[int, List[str]] = {int(c): [] for c in classes}
        for entry in sample_class_stats:
            for key, count in entry.items():
                if key != 'file' and count > self.min_pixels:
                    files[int(key)].append(entry['file'])
        return files

    def _classes_with_files(self, classes: np.ndarray, files: Dict[int, List[str]],
                            stats_path: str) -> np.ndarray:
        """Return the mask of classes with a candidate file, warning about the others."""
        keep = np.array([bool(files[c]) for c in classes.tolist()])
        if not keep.any():
            raise ValueError(
                f'rare class sampling: no file in {stats_path} holds more than '
                f'min_pixels={self.min_pixels} pixels of any class; lower `min_pixels` in '
                '`rare_class_sampling` (scale it with the label resolution).')
        if not keep.all():
            print_log(
                f'rare class sampling: classes {classes[~keep].tolist()} have pixels in '
                f'{stats_path} but no file holds more than min_pixels={self.min_pixels} of '
                'them; they are not sampled (the official code stops here). Lower '
                '`min_pixels` to keep them.',
                logger='current', level=logging.WARNING)
        return keep

    def sample_class(self, rng: np.random.Generator) -> int:
        """Draw a class ``c ~ P(c)``.

        Args:
            rng (np.random.Generator): Random generator.

        Returns:
            int: The class id.
        """
        return int(rng.choice(self.classes, p=self.class_probs))

    def sample_file(self, cls: int, rng: np.random.Generator) -> str:
        """Draw uniformly a file holding more than ``min_pixels`` pixels of ``cls``.

        Args:
            cls (int): The class id.
            rng (np.random.Generator): Random generator.

        Returns:
            str: The file as written in the statistics.
        """
        files = self.files_with_class[cls]
        return files[int(rng.integers(len(files)))]

    def accepts_crop(self, gt_sem_seg: Union[torch.Tensor, np.ndarray], cls: int) -> bool:
        """Whether a crop holds enough pixels of ``cls`` to stop re-cropping.

        Args:
            gt_sem_seg (Tensor | np.ndarray): The cropped label map (any shape).
            cls (int): The sampled class.

        Returns:
            bool: True if it holds more than ``min_pixels * min_crop_ratio`` pixels of ``cls``
            (always True when ``min_crop_ratio`` is 0: no re-cropping, as in the official code).
            With ``crop_class_map`` the pixels of the merged class ``crop_class_map[cls]`` are
            counted: MADM tests the crop before merging, so a crop with, e.g., enough car
            pixels but few truck pixels passes here for ``cls`` = truck and not there.
        """
        if self.min_crop_ratio <= 0:
            return True
        crop_cls = self.crop_class_map.get(cls, cls)
        return int((gt_sem_seg == crop_cls).sum()) > self.min_pixels * self.min_crop_ratio

    @classmethod
    def from_stats_file(cls,
                        stats_path: str,
                        files: Sequence[str],
                        convert_command: str,
                        label_map: Optional[Mapping[int, int]] = None,
                        original_class_stats: bool = False,
                        **kwargs) -> 'RareClassSampler':
        """Build the sampler from ``sample_class_stats.json`` for the files of a dataset.

        ``f_c`` and the candidate files are computed over ``files`` only (a dataset restricted
        with ``indices`` samples from its own files). With a ``label_map`` (class subset) the
        class ids of the statistics are remapped as the labels are, and dropped classes vanish,
        unless ``original_class_stats`` keeps the original ids (MADM).

        Args:
            stats_path (str): Path of ``sample_class_stats.json``.
            files (Sequence[str]): The dataset's label maps, relative to the statistics' folder.
            convert_command (str): The command that writes the statistics (named in errors).
            label_map (Mapping[int, int], optional): The dataset's ``label_map``.
            original_class_stats (bool): Draw classes and files by the original ids of the
                statistics and map only the re-crop test through ``label_map``, as MADM
                (Xia et al., NeurIPS 2024, official ``data/dataset/cross_modality_dataset.py``:
                RCS over the 19 Cityscapes trainIds, labels merged after cropping). Defaults to
                False (DAFormer: statistics remapped like the labels).
            **kwargs: ``class_temp``, ``min_pixels``, ``min_crop_ratio``.

        Returns:
            RareClassSampler: The sampler.

        Raises:
            FileNotFoundError: If the statistics file is missing.
            ValueError: If the statistics do not cover every file of the dataset.
        """
        if not osp.isfile(stats_path):
            raise FileNotFoundError(
                f'rare class sampling needs {stats_path!r}, written by the dataset converter: '
                f'run `{convert_command}`.')
        with open(stats_path) as f:
            stats = {osp.normpath(entry['file']): entry for entry in json.load(f)}
        wanted = [osp.normpath(name) for name in files]
        missing = [name for name in wanted if name not in stats]
        if missing:
            raise ValueError(
                f'{stats_path!r} has no entry for {len(missing)} of the {len(wanted)} label maps '
                f'of the dataset, e.g. {missing[0]!r}: the statistics are stale or from another '
                f'dataset; re-run `{convert_command}`.')
        if original_class_stats:
            selected = [_remap(stats[name], name, None) for name in wanted]
            return cls(selected, stats_path=stats_path, crop_class_map=label_map, **kwargs)
        selected = [_remap(stats[name], name, label_map) for name in wanted]
        return cls(selected, stats_path=stats_path, **kwargs)


def _remap(entry: Mapping, file: str, label_map: Optional[Mapping[int, int]]) -> dict:
    """Return a statistics entry under ``file``, remapped by ``label_map`` (255 = dropped)."""
    remapped = {'file': file}
    for key, count in entry.items():
        if key == 'file':
            continue
        new_id = label_map.get(int(key), int(key)) if label_map else int(key)
        if new_id != 255:
            remapped[str(new_id)] = remapped.get(str(new_id), 0) + int(count)
    return remapped
