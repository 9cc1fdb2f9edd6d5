"""The global random generators of a process, as plain data, and per-sample seeding.

A training iteration draws from Python's ``random`` module (e.g. MADM's timestep
``random.randint``), numpy's global generator (mmcv/mmseg transforms), torch's CPU generator
(ClassMix, strong augmentation, block masks, dropout) and, on GPUs, the CUDA generators.
:func:`get_random_state` captures all of them as tensors, lists and numbers, so the state can be
stored in a checkpoint that ``torch.load(weights_only=True)`` accepts, and
:func:`set_random_state` puts it back.

:func:`seeded_random_state` runs a block with all three CPU generators seeded from a key (e.g.
the run's seed and a sample's position in the sampling stream) and restores the previous states
afterwards: the data pipeline then draws the same numbers for a sample however many dataloader
workers there are, whichever worker loads it and whatever ran before, and loading a sample in the
main process (``num_workers=0``) does not move the generators the model draws from.
"""
import random
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np
import torch


def get_random_state() -> dict:
    """Capture Python's, numpy's, torch's CPU and (if present) CUDA random states.

    Returns:
        dict: ``dict(python=[version, [625 ints], gauss_next], numpy=dict(keys=Tensor, pos=int,
        has_gauss=int, cached_gaussian=float), torch=Tensor, cuda=[Tensor, ...])``, made of plain
        data only.
    """
    version, internal, gauss_next = random.getstate()
    _, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    return dict(
        python=[version, list(internal), gauss_next],
        numpy=dict(
            keys=torch.from_numpy(keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached_gaussian)),
        torch=torch.get_rng_state(),
        cuda=list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [])


def set_random_state(state: dict) -> None:
    """Restore the generators captured by :func:`get_random_state`.

    Args:
        state (dict): A state returned by :func:`get_random_state` (possibly after a round trip
            through a checkpoint).

    Raises:
        ValueError: If ``state`` holds CUDA states for more devices than this process sees.
    """
    version, internal, gauss_next = state['python']
    random.setstate((int(version), tuple(int(value) for value in internal), gauss_next))
    numpy_state = state['numpy']
    np.random.set_state(('MT19937', numpy_state['keys'].numpy().astype(np.uint32),
                         int(numpy_state['pos']), int(numpy_state['has_gauss']),
                         float(numpy_state['cached_gaussian'])))
    torch.set_rng_state(state['torch'])
    cuda_states = state.get('cuda') or []
    if cuda_states:
        if not torch.cuda.is_available() or len(cuda_states) > torch.cuda.device_count():
            raise ValueError(
                f'The saved random state holds {len(cuda_states)} CUDA generator state(s), but '
                f'this process sees {torch.cuda.device_count()} CUDA device(s): resume on the '
                'same kind of machine to reproduce the run.')
        torch.cuda.set_rng_state_all(cuda_states)


@contextmanager
def seeded_random_state(key: Sequence[int]) -> Iterator[None]:
    """Seed Python's, numpy's and torch's CPU generators from ``key`` for one block.

    The seeds are drawn from ``numpy.random.SeedSequence(key)``, which mixes the key's entropy so
    that nearby keys (consecutive sample positions) give unrelated streams. The previous states
    are restored when the block ends, also on an exception.

    Args:
        key (Sequence[int]): Non-negative integers, e.g. ``(seed, position)``.

    Yields:
        None
    """
    previous = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    words = np.random.SeedSequence([int(value) for value in key]).generate_state(8, np.uint32)
    random.seed(int.from_bytes(words[:4].tobytes(), 'little'))
    np.random.seed(words[4:6])
    torch.manual_seed(int.from_bytes(words[6:].tobytes(), 'little'))
    try:
        yield
    finally:
        random.setstate(previous[0])
        np.random.set_state(previous[1])
        torch.set_rng_state(previous[2])
