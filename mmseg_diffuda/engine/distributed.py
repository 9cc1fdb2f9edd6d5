"""Distributed set-up that lets ``tools/train.py`` and ``tools/test.py`` run on CPUs (gloo)."""
import datetime

import torch
import torch.distributed as dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config) -> None:
    """Prepare a distributed run without GPUs for mmengine 0.10.7's ``Runner``.

    On GPUs nothing changes: the ``Runner`` initialises the process group from
    ``env_cfg.dist_cfg`` (nccl). Without CUDA two things in mmengine 0.10.7 break (seen with
    ``torchrun --nproc_per_node 2`` on a CPU-only machine):

    1. ``init_dist`` for the ``pytorch`` launcher calls ``torch.cuda.set_device``
       unconditionally. This function creates the process group with the gloo backend first;
       the ``Runner`` skips its own initialisation when a group exists.
    2. The ``Runner`` passes ``device_ids=[LOCAL_RANK]`` to DDP wrappers, which DDP rejects for
       CPU modules. This function sets ``model_wrapper_cfg.device_ids=None`` (adding mmengine's
       default ``MMDistributedDataParallel`` wrapper config when the config has none).

    Args:
        cfg (Config): The full config; ``cfg.launcher`` is one of ``'none'``, ``'pytorch'``,
            ``'slurm'``, ``'mpi'``. Modified in place.

    Raises:
        RuntimeError: For the ``slurm`` and ``mpi`` launchers without CUDA, which mmengine
            initialises on GPUs only.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} needs CUDA devices (mmengine binds each process to a GPU). '
            'On CPUs start the processes with torchrun, e.g. `bash tools/dist_train.sh CONFIG 2`, '
            'which uses --launcher pytorch and the gloo backend.')
    if not dist.is_initialized():
        timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout')
        kwargs = {} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))
        dist.init_process_group(backend='gloo', **kwargs)
    wrapper_cfg = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper_cfg['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper_cfg
