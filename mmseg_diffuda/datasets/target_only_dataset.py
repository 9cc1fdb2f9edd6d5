# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Unlabelled target batches for source-free adaptation (no source dataset is built)."""
from typing import Union

from mmseg.registry import DATASETS
from mmseg.utils import ConfigType
from torch.utils.data import Dataset


@DATASETS.register_module()
class TargetOnlyDataset(Dataset):
    """Wraps a target dataset so that its samples arrive as ``dict(target=...)``.

    Source-free domain adaptation (e.g. SHOT, Liang et al., ICML 2020; CrossMatch, Yin et al.,
    ICCV 2023) adapts a model trained on the source to the target **without any source image**.
    This wrapper is the adaptation stage's training set: it builds only the target dataset and
    returns its packed samples under the ``target`` key, the key :class:`UDADataset` uses for
    target samples, so that a UDA segmentor's ``train_step`` receives
    ``dict(target=dict(inputs=[...], data_samples=[...]))`` after mmengine's
    ``pseudo_collate`` (and no ``source`` entry at all).

    Unlike :class:`UDADataset` there is nothing to pair, so index ``i`` is target sample ``i``
    (the ``InfiniteSampler`` shuffles) and ``len`` is the target's length.

    Args:
        target (ConfigType | Dataset): The (unlabelled) target dataset or its config.
    """

    def __init__(self, target: Union[ConfigType, Dataset]) -> None:
        self.target = DATASETS.build(target) if isinstance(target, dict) else target

    @property
    def metainfo(self) -> dict:
        """dict: The target's meta information (classes, palette)."""
        return self.target.metainfo

    def __len__(self) -> int:
        """int: Number of target samples."""
        return len(self.target)

    def __getitem__(self, idx: int) -> dict:
        """Return ``dict(target=<packed target sample idx>)``.

        Args:
            idx (int): Target index in ``[0, len(self))``.

        Returns:
            dict: The packed target sample under ``target``.
        """
        return dict(target=self.target[idx])
