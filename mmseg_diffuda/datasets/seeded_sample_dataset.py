"""A dataset wrapper that loads each sample with the random generators seeded from its key."""
from typing import Any, Sequence, Tuple, Union

from mmseg.registry import DATASETS
from mmseg.utils import ConfigType
from torch.utils.data import Dataset

from ..engine.random_state import seeded_random_state


@DATASETS.register_module()
class SeededSampleDataset(Dataset):
    """Loads sample ``index`` with Python's, numpy's and torch's generators seeded from a key.

    Used with :class:`~mmseg_diffuda.datasets.ResumableInfiniteSampler`, which yields
    ``(index, key)`` pairs with ``key = (seed, position in the sampling stream)``. Every random
    draw of the data pipeline (mmcv/mmseg transforms draw from numpy's global generator,
    :class:`UDADataset`'s target pairing and rare class sampling from torch's) then depends on
    the key alone, not on the worker that loads the sample nor on the samples it loaded before.
    That is what lets a resumed run reproduce the data of the uninterrupted run without
    replaying it, and it makes the data independent of ``num_workers``. The generators' previous
    states are restored after each sample, so loading in the main process (``num_workers=0``)
    leaves the model's random stream untouched.

    A plain integer index is loaded without seeding (e.g. by tools that index the dataset).

    Args:
        dataset (ConfigType | Dataset): The wrapped dataset or its config.
    """

    def __init__(self, dataset: Union[ConfigType, Dataset]) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset

    @property
    def metainfo(self) -> dict:
        """dict: The wrapped dataset's meta information."""
        return self.dataset.metainfo

    def __len__(self) -> int:
        """int: The wrapped dataset's length."""
        return len(self.dataset)

    def __getitem__(self, item: Union[int, Tuple[int, Sequence[int]]]) -> Any:
        """Return the wrapped dataset's sample, loaded under the item's seed.

        Args:
            item (int | tuple): ``(index, key)`` from :class:`ResumableInfiniteSampler`, or an
                index.

        Returns:
            Any: The wrapped dataset's sample ``index``.
        """
        if isinstance(item, int):
            return self.dataset[item]
        index, key = item
        with seeded_random_state(key):
            return self.dataset[index]
