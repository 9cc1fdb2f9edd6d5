# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Source/target pairing for unsupervised domain adaptation, with rare class sampling."""
import os.path as osp
from typing import Dict, Optional, Union

import numpy as np
import torch
from mmengine.logging import print_log
from mmseg.registry import DATASETS
from mmseg.utils import ConfigType, OptConfigType
from torch.utils.data import Dataset

from .checks import CONVERTER_HINT, DATASET_LAYOUTS
from .rare_class_sampling import STATS_FILE, RareClassSampler


@DATASETS.register_module()
class UDADataset(Dataset):
    """Pairs a labelled source dataset with an unlabelled target dataset.

    Reproduces DAFormer's ``UDADataset`` (Hoyer et al., CVPR 2022, official
    ``mmseg/datasets/uda_dataset.py``) with MMSeg 1.x samples:

    - index ``i`` selects source ``i`` and a target drawn uniformly at random, and
      ``len = len(source)``. DAFormer uses ``len = len(source) * len(target)`` and pairs
      ``i // len(target)`` with ``i % len(target)``; under a shuffling sampler both give uniformly
      random pairs, but mmengine's ``InfiniteSampler`` materialises all indices, which for the
      product is a list of about 74 million integers (GTA5 x Cityscapes), several GB per process;
    - with ``rare_class_sampling`` the index is ignored: the source sample is drawn by
      :class:`RareClassSampler` (class, then file, then up to 10 re-crops through the source
      pipeline) and the target index uniformly;
    - ``__getitem__`` returns ``dict(source=<PackSegInputs output>, target=<PackSegInputs
      output>)``; without a target (source-only / domain generalisation) there is no ``target``
      key and ``len = len(source)``. mmengine's ``pseudo_collate`` turns a batch into
      ``dict(source=dict(inputs=[...], data_samples=[...]), target=dict(...))``.

    RCS draws use a ``numpy.random.Generator`` seeded from torch's global random stream, so
    they are reproducible under mmengine's seeding (which seeds every dataloader worker
    differently) and independent across workers.

    Args:
        source (ConfigType | Dataset): The labelled source dataset or its config.
        target (OptConfigType | Dataset): The target dataset or its config; None for
            source-only training. Defaults to None.
        rare_class_sampling (dict, optional): ``dict(class_temp=0.01, min_pixels=3000,
            min_crop_ratio=0.5)`` (DAFormer) to enable RCS; it reads
            ``<source data_root>/sample_class_stats.json``. With a class-merging source
            (``label_map``), ``original_class_stats=True`` samples by the original class ids
            as MADM (see :meth:`RareClassSampler.from_stats_file`). Defaults to None.
    """

    def __init__(self,
                 source: Union[ConfigType, Dataset],
                 target: Union[OptConfigType, Dataset] = None,
                 rare_class_sampling: Optional[dict] = None) -> None:
        self.source = self._build(source, 'source')
        self.target = self._build(target, 'target') if target is not None else None
        if self.target is not None:
            self._check_classes()
        self.rcs: Optional[RareClassSampler] = None
        self._file_to_index: Dict[str, int] = {}
        if rare_class_sampling is not None:
            self.rcs = self._build_rare_class_sampler(rare_class_sampling)

    @classmethod
    def _build(cls, dataset: Union[ConfigType, Dataset], role: str) -> Dataset:
        """Build a dataset from its config (``DATASETS.build``) or return the instance.

        mmengine cannot serialise an empty data list (``need at least one array to
        concatenate``): that error is replaced by one naming the empty folder.
        """
        if not isinstance(dataset, dict):
            cls._check_not_empty(dataset, role)
            return dataset
        try:
            built = DATASETS.build(dataset)
        except ValueError as err:
            if 'need at least one array to concatenate' not in str(err):
                raise
            prefix = (dataset.get('data_prefix') or {}).get('img_path', '')
            raise cls._empty_error(dataset.get('type', '?'), dataset.get('data_root'),
                                   osp.join(dataset.get('data_root') or '', prefix),
                                   role) from err
        cls._check_not_empty(built, role)
        return built

    @classmethod
    def _check_not_empty(cls, dataset: Dataset, role: str) -> None:
        """Raise if the source or target dataset has no sample (an empty split folder)."""
        if len(dataset) == 0:
            raise cls._empty_error(type(dataset).__name__, getattr(dataset, 'data_root', None),
                                   getattr(dataset, 'data_prefix', {}).get('img_path', ''), role)

    @staticmethod
    def _empty_error(dataset_type: str, data_root: Optional[str], img_dir: str,
                     role: str) -> ValueError:
        """The error for an empty source/target split, with the expected layout."""
        layout = DATASET_LAYOUTS.get(dataset_type)
        hint = layout.describe(data_root) if layout else CONVERTER_HINT
        return ValueError(
            f'UDADataset: the {role} dataset {dataset_type} is empty: no image in {img_dir!r} '
            f'(data_root={data_root!r}). Check data_root/data_prefix and the split folder.\n'
            f'{hint}')

    def _check_classes(self) -> None:
        """Raise if source and target do not share the same classes in the same order."""
        src_classes = tuple(self.source.metainfo.get('classes', ()))
        tgt_classes = tuple(self.target.metainfo.get('classes', ()))
        if src_classes != tgt_classes:
            raise ValueError(
                f'UDADataset: source {type(self.source).__name__} has {len(src_classes)} classes '
                f'but target {type(self.target).__name__} has {len(tgt_classes)} classes '
                f'(source {src_classes}, target {tgt_classes}); pass the same class list to both '
                'through `metainfo=dict(classes=...)` so their labels are remapped alike.')

    def _build_rare_class_sampler(self, cfg: dict) -> RareClassSampler:
        """Build RCS from the source's statistics and index its files."""
        data_root = getattr(self.source, 'data_root', None)
        if not data_root:
            raise ValueError(
                'UDADataset: rare_class_sampling reads sample_class_stats.json from the source '
                f'dataset\'s data_root, but {type(self.source).__name__} has none.')
        for index in range(len(self.source)):
            seg_map_path = self.source.get_data_info(index)['seg_map_path']
            self._file_to_index[osp.normpath(osp.relpath(seg_map_path, data_root))] = index
        layout = DATASET_LAYOUTS.get(type(self.source).__name__)
        command = layout.convert_command(data_root) if layout else CONVERTER_HINT
        sampler = RareClassSampler.from_stats_file(
            osp.join(data_root, STATS_FILE),
            list(self._file_to_index),
            convert_command=command,
            label_map=self.source.metainfo.get('label_map'),
            **cfg)
        print_log(f'RCS classes: {sampler.classes.tolist()}, probabilities: '
                  f'{np.round(sampler.class_probs, 4).tolist()}', logger='current')
        return sampler

    @property
    def metainfo(self) -> dict:
        """dict: The source's meta information (classes, palette, label map)."""
        return self.source.metainfo

    def __len__(self) -> int:
        """int: ``len(source)`` (the target is drawn at random for every source sample)."""
        return len(self.source)

    def __getitem__(self, idx: int) -> dict:
        """Return ``dict(source=..., target=...)`` for index ``idx`` (ignored under RCS).

        Args:
            idx (int): Pair index in ``[0, len(self))``.

        Returns:
            dict: The packed source sample and, with a target dataset, the packed target sample.
        """
        rng = self._generator()
        if self.rcs is not None:
            sample = dict(source=self._rare_class_source(rng))
        else:
            sample = dict(source=self.source[idx])
        if self.target is not None:
            sample['target'] = self.target[int(rng.integers(len(self.target)))]
        return sample

    def _rare_class_source(self, rng: np.random.Generator) -> dict:
        """Draw a class and a file with RCS, re-cropping until the crop holds the class."""
        cls = self.rcs.sample_class(rng)
        index = self._file_to_index[self.rcs.sample_file(cls, rng)]
        sample = self.source[index]
        for _ in range(self.rcs.MAX_RECROPS):
            if self.rcs.accepts_crop(self._packed_label(sample), cls):
                break
            sample = self.source[index]  # the source pipeline draws a new random crop
        return sample

    @staticmethod
    def _packed_label(sample: dict) -> torch.Tensor:
        """Return the label map of a ``PackSegInputs`` output."""
        data_sample = sample['data_samples']
        if 'gt_sem_seg' not in data_sample:
            raise KeyError('UDADataset: rare_class_sampling needs the source pipeline to load '
                           'labels (LoadSegLabel) and end with PackSegInputs.')
        return data_sample.gt_sem_seg.data

    @staticmethod
    def _generator() -> np.random.Generator:
        """Return a generator seeded from torch's global random stream.

        Dataloader workers get distinct torch seeds (mmengine's ``worker_init_fn`` derives them
        from the run's seed), so every worker draws its own reproducible sequence, and a fork
        never duplicates generator state.
        """
        return np.random.default_rng(int(torch.randint(0, 2**62, (1, ))))
