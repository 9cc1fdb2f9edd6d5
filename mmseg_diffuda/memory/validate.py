"""Check a memory plan against the resident-memory growth of the same real step on CPU.

The plan's ``step_growth_bytes`` (peak of the steady-state iteration minus what it starts with)
is compared with the growth of the process's resident memory over one real iteration, measured
as ``benchmarks/madm_memory.py`` does (resident memory of the process) but for the second
iteration alone: after the first (warm-up) iteration the kernel's peak counter is reset
(``/proc/self/clear_refs``), then ``VmHWM - VmRSS`` over the next iteration is the growth.
Run it in a process started with ``MALLOC_MMAP_THRESHOLD_=65536`` (:data:`MALLOC_ENV`): glibc
then maps every large tensor separately and returns it to the kernel when freed, so resident
memory follows the live tensors (with its default dynamic threshold, freed tensors stay cached
and a later iteration grows less than it allocates).
"""
import os
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from .plan import build_training, prepare_config, train_batch_size, train_crop
from .synthetic import synthetic_uda_batch

#: Environment of the measuring process (see the module docstring).
MALLOC_ENV = dict(MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0')


def _status_bytes(key: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` in bytes."""
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith(key + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'/proc/self/status has no {key} (Linux only).')


def reset_peak_rss() -> None:
    """Reset the kernel's peak resident memory (VmHWM) of this process to its current RSS."""
    with open('/proc/self/clear_refs', 'w') as clear_refs:
        clear_refs.write('5')


def measure_step_growth(cfg: Config,
                        levers: Sequence[str] = (),
                        batch_size: Optional[int] = None,
                        crop: Optional[Tuple[int, int]] = None,
                        seed: int = 0) -> Dict[str, int]:
    """Run two real iterations on CPU; return the second one's resident-memory growth.

    Args:
        cfg (Config): The training config (random weights, as the plan).
        levers (Sequence[str]): Levers (as the plan).
        batch_size (int, optional): Images per domain; None: the config's.
        crop (tuple[int, int], optional): Crop; None: the config's.
        seed (int): Seed of the weights and the batch.

    Returns:
        dict[str, int]: ``step_growth_bytes`` and ``rss_before_bytes``.
    """
    if os.environ.get('MALLOC_MMAP_THRESHOLD_') != MALLOC_ENV['MALLOC_MMAP_THRESHOLD_']:
        raise RuntimeError('measure_step_growth needs a process started with '
                           'MALLOC_MMAP_THRESHOLD_=65536 (see mmseg_diffuda.memory.validate).')
    torch.manual_seed(seed)
    batch_size = train_batch_size(cfg) if batch_size is None else batch_size
    model_cfg, optim_cfg, amp = prepare_config(cfg, levers, crop)
    crop = tuple(crop) if crop is not None else train_crop(cfg)
    model, optim_wrapper = build_training(model_cfg, optim_cfg, amp)
    student = getattr(model, 'student_module', model)
    batch = synthetic_uda_batch(batch_size, crop, int(student.decode_head.num_classes))
    model.train_step(batch, optim_wrapper)  # warm-up: allocates the optimiser state
    reset_peak_rss()
    before = _status_bytes('VmRSS')
    model.train_step(batch, optim_wrapper)
    return dict(step_growth_bytes=_status_bytes('VmHWM') - before, rss_before_bytes=before)
