"""An iteration-based training loop whose runs resume bit for bit after an interruption."""
import copy
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator
from mmseg.registry import LOOPS
from torch.utils.data import DataLoader

from ..datasets.resumable_infinite_sampler import ResumableInfiniteSampler
from .random_state import get_random_state, set_random_state

#: ``runtime_info`` key of the message hub (saved in every checkpoint) holding the loop's state.
RESUME_STATE_KEY = 'exact_resume'


@LOOPS.register_module()
class ExactResumeIterBasedTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` whose ``--resume`` continues the interrupted run bit for bit.

    A training iteration consumes two kinds of randomness, and this loop makes both a function
    of the seed and the iteration, so that a run killed after a checkpoint and resumed from it
    computes what the uninterrupted run computes (on CPU with ``randomness.deterministic=True``;
    tested for every toy method in ``tests/test_engine/test_exact_resume.py``):

    1. **Data** (crops, flips, target pairing, rare class sampling): the dataloader's sampler
       becomes :class:`~mmseg_diffuda.datasets.ResumableInfiniteSampler` and its dataset is
       wrapped in :class:`~mmseg_diffuda.datasets.SeededSampleDataset`, so every sample is
       loaded with the generators seeded from ``(seed, position in the sampling stream)``. On
       resume the sampler restarts at position ``iteration * batch_size``; the iterations
       already trained are not loaded again (mmengine's loop loads and drops them).
    2. **Model** (ClassMix classes, strong augmentation, masks, dropout, diffusion timesteps and
       noise): ``train_step`` runs on a *training stream* of Python's, numpy's, torch's and
       CUDA's generators, kept apart from the process's global stream: before ``train_step``
       the loop installs the training stream's state, afterwards it saves it and puts the outer
       state back. Validation, dataloader start-up and hooks therefore never shift the training
       stream. The state is stored after each iteration in the message hub's runtime
       information (``exact_resume``), which every checkpoint holds as plain data, and
       installed again on resume.

    The resumed run must use the same number of processes and the same batch size; otherwise
    the loop warns that the data order differs. With ``randomness.diff_rank_seed=True`` the
    ranks' training streams differ but a checkpoint holds rank 0's: ranks other than 0 then
    continue on rank 0's stream (a warning says so).

    Only ``InfiniteSampler`` (or this sampler) is supported: it is what iteration-based training
    uses.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The training dataloader or its config; a config's
            sampler and dataset are converted as described above.
        max_iters (int): Total training iterations.
        val_begin (int): The iteration that begins validating. Defaults to 1.
        val_interval (int): Validation interval. Defaults to 1000.
        dynamic_intervals (list[tuple[int, int]], optional): Milestones and validation
            intervals used after them. Defaults to None.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_iters: int,
                 val_begin: int = 1,
                 val_interval: int = 1000,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None) -> None:
        if isinstance(dataloader, dict):
            dataloader = seeded_dataloader_cfg(dataloader)
        super().__init__(runner, dataloader, max_iters, val_begin, val_interval,
                         dynamic_intervals)
        if not isinstance(self.dataloader.sampler, ResumableInfiniteSampler):
            raise TypeError(
                f'{type(self).__name__} needs the training dataloader built from a config (its '
                'sampler becomes ResumableInfiniteSampler); got a DataLoader with '
                f'{type(self.dataloader.sampler).__name__}.')
        if self.dataloader.batch_size is None:
            raise ValueError(f'{type(self).__name__}: train_dataloader.batch_sampler is not '
                             'supported; set train_dataloader.batch_size.')
        self._random_state: Optional[dict] = None

    # ------------------------------------------------------------------ state
    def _data_signature(self) -> dict:
        """The settings a resumed run must share to see the same data."""
        sampler = self.dataloader.sampler
        return dict(seed=int(sampler.seed), world_size=int(sampler.world_size),
                    batch_size=int(self.dataloader.batch_size))

    def _resume(self) -> None:
        """Restart the sampler at the resumed iteration and install the training stream."""
        sampler = self.dataloader.sampler
        sampler.start = self._iter * self.dataloader.batch_size
        # A new iterator reads the sampler again (persistent workers are reused).
        self.dataloader_iterator = _InfiniteDataloaderIterator(self.dataloader)
        print_log(f'Resumed data at sample {sampler.start} of rank {sampler.rank} (iteration '
                  f'{self._iter}) without reloading the trained part.', logger='current')
        state = self.runner.message_hub.get_info(RESUME_STATE_KEY)
        if state is None:
            print_log(
                'The checkpoint holds no training random state (it was written by another '
                'training loop): training continues, but not as the uninterrupted run would.',
                logger='current', level=logging.WARNING)
            return
        saved, current = state['data'], self._data_signature()
        if saved != current:
            print_log(
                f'The checkpoint was written with {saved} and this run uses {current}: the '
                'data order differs from the uninterrupted run. Resume with the same seed, '
                'number of processes and batch size to reproduce it.',
                logger='current', level=logging.WARNING)
        if sampler.rank > 0 and self.runner._randomness_cfg.get('diff_rank_seed', False):
            print_log(
                'diff_rank_seed=True: this rank continues on the random stream of rank 0 '
                '(checkpoints hold rank 0\'s).', logger='current', level=logging.WARNING)
        self._random_state = state['random']

    # ------------------------------------------------------------------ the loop
    def run(self):
        """Train from the current iteration (0, or the resumed one) to ``max_iters``.

        Returns:
            nn.Module: The trained model.
        """
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        if self._iter > 0:
            self._resume()
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_iter(self, data_batch: Sequence[dict]) -> None:
        """One iteration, with ``train_step`` on the training random stream.

        Args:
            data_batch (Sequence[dict]): The batch from the dataloader.
        """
        self.runner.call_hook('before_train_iter', batch_idx=self._iter, data_batch=data_batch)
        outer = get_random_state()
        if self._random_state is not None:
            set_random_state(self._random_state)
        try:
            outputs = self.runner.model.train_step(
                data_batch, optim_wrapper=self.runner.optim_wrapper)
        finally:
            self._random_state = get_random_state()
            set_random_state(outer)
        self.runner.message_hub.update_info(
            RESUME_STATE_KEY, dict(random=self._random_state, data=self._data_signature()))
        self.runner.call_hook('after_train_iter', batch_idx=self._iter, data_batch=data_batch,
                              outputs=outputs)
        self._iter += 1


def seeded_dataloader_cfg(cfg: dict) -> dict:
    """Return a copy of a training dataloader config with seeded, resumable sampling.

    Args:
        cfg (dict): ``train_dataloader`` with an ``InfiniteSampler`` (or
            ``ResumableInfiniteSampler``).

    Returns:
        dict: The config with ``sampler.type='ResumableInfiniteSampler'`` and the dataset
        wrapped in ``SeededSampleDataset`` (unless it already is).

    Raises:
        ValueError: For another sampler.
    """
    cfg = copy.deepcopy(cfg)
    sampler = dict(cfg.get('sampler') or {})
    if sampler.get('type') not in ('InfiniteSampler', 'ResumableInfiniteSampler'):
        raise ValueError(
            f'ExactResumeIterBasedTrainLoop needs train_dataloader.sampler.type='
            f'"InfiniteSampler" (iteration-based training), got {sampler.get("type")!r}; or set '
            'train_cfg.type="IterBasedTrainLoop" (resume then is not exact).')
    sampler['type'] = 'ResumableInfiniteSampler'
    cfg['sampler'] = sampler
    dataset = cfg['dataset']
    if not (isinstance(dataset, dict) and dataset.get('type') == 'SeededSampleDataset'):
        cfg['dataset'] = dict(type='SeededSampleDataset', dataset=dataset)
    return cfg
