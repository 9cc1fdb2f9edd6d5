"""An infinite sampler that can start at any position and seeds every sample it yields."""
import itertools
from typing import Iterator, Optional, Sized, Tuple

from mmengine.dataset import InfiniteSampler
from mmengine.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class ResumableInfiniteSampler(InfiniteSampler):
    """mmengine's ``InfiniteSampler`` stream, restartable at a position, with a key per sample.

    The index stream is exactly ``InfiniteSampler``'s (one ``torch.randperm`` per pass over the
    dataset from a generator seeded with ``seed``; rank ``r`` of ``w`` processes takes every
    ``w``-th index from ``r``), so switching to this sampler leaves the order of the data
    unchanged. Two differences make a resumed run see the data of the uninterrupted one:

    - every ``iter(sampler)`` starts again at :attr:`start` (``InfiniteSampler`` continues one
      generator shared by all iterations), and :attr:`start` can be set: the training loop sets
      it to ``iteration * batch_size`` on resume, instead of loading and dropping the data of
      the iterations already trained (mmengine's default, which costs as much data loading as
      the trained part of the run);
    - it yields ``(index, (seed, position))`` pairs, where ``position`` is the sample's place in
      the stream of all ranks (``rank + world_size * local position``). The wrapper
      :class:`~mmseg_diffuda.datasets.SeededSampleDataset` seeds the random generators from that
      key before loading the sample, so each sample's augmentation, pairing and rare class draw
      is a function of the seed and its position alone.

    Args:
        dataset (Sized): The dataset.
        shuffle (bool): Shuffle the indices of each pass. Defaults to True.
        seed (int, optional): Random seed, shared by all ranks; None draws one and synchronises
            it. Defaults to None.
        start (int): Local position of the first yielded sample. Defaults to 0.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 start: int = 0) -> None:
        super().__init__(dataset, shuffle=shuffle, seed=seed)
        self.start = start

    def __iter__(self) -> Iterator[Tuple[int, Tuple[int, int]]]:
        """Yield ``(index, (seed, global position))`` from local position :attr:`start` on."""
        indices = itertools.islice(self._indices_of_rank(), self.start, None)
        for local_position, index in enumerate(indices, start=self.start):
            yield index, (self.seed, self.rank + self.world_size * local_position)
