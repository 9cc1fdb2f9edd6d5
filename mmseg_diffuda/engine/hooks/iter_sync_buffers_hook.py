"""Make every process hold the same model buffers after each training iteration."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.registry import HOOKS
from torch import Tensor, nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors
from torch.nn.modules.batchnorm import _BatchNorm


def _by_dtype(tensors: Sequence[Tensor]) -> Dict[torch.dtype, List[Tensor]]:
    groups: Dict[torch.dtype, List[Tensor]] = {}
    for tensor in tensors:
        groups.setdefault(tensor.dtype, []).append(tensor)
    return groups


def _reduce_coalesced(tensors: Sequence[Tensor], average: bool) -> None:
    """Average (``average``) or broadcast from rank 0 ``tensors`` in place, one call per dtype."""
    for group in _by_dtype(tensors).values():
        flat = _flatten_dense_tensors(group)
        if average:
            dist.all_reduce(flat)
            flat.div_(dist.get_world_size())
        else:
            dist.broadcast(flat, src=0)
        for tensor, synced in zip(group, _unflatten_dense_tensors(flat, group)):
            tensor.copy_(synced)


def sync_buffers(model: nn.Module) -> None:
    """Give every process the same buffers: BN running statistics averaged, the rest rank 0's.

    Args:
        model (nn.Module): The model (wrapped or not); all its buffers, the EMA teacher's
            included, are synchronised. A no-op without an initialised process group of more
            than one process.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return
    statistics = {
        id(buffer): buffer
        for module in model.modules() if isinstance(module, _BatchNorm)
        for buffer in (module.running_mean, module.running_var) if buffer is not None
    }
    others = [buffer for buffer in model.buffers() if id(buffer) not in statistics]
    with torch.no_grad():
        _reduce_coalesced(list(statistics.values()), average=True)
        _reduce_coalesced(others, average=False)


@HOOKS.register_module()
class IterSyncBuffersHook(Hook):
    """Synchronise the model buffers of all processes after every training iteration.

    With DDP and ``broadcast_buffers=False`` each process updates its BatchNorm running
    statistics on its own shard of the batch (student and EMA teacher alike), so after a few
    iterations every rank holds a different model: each evaluates a different network on its
    part of the validation set, and the printed mIoU belongs to no checkpoint. After each
    iteration this hook

    - **averages** the running mean/variance of every BatchNorm layer over the processes.
      Averaging the running means gives exactly the running mean SyncBN would keep for equal
      per-process batches (the mean of the per-process batch means is the global batch mean);
      averaging the variances omits the spread of the per-process means, a small
      underestimate. We do not switch to SyncBN: the training forward keeps normalising with
      per-process batch statistics, as the methods' official single-GPU training does, and
      torch's SyncBN runs on GPUs only (the CPU/gloo path of ``tools/dist_train.sh`` would
      lose it). DDP's ``broadcast_buffers=True`` would not suffice either: it syncs only the
      DDP-wrapped student, before each of its forwards, not the teacher;
    - **broadcasts** every other buffer (iteration counter, cached embeddings, schedules) from
      rank 0, which keeps them bit-identical (an average of equal values may round).

    It runs before the checkpoint hook, so checkpoints hold the synchronised buffers, and it
    is a no-op in single-process runs.
    """

    priority = 'NORMAL'

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Synchronise the buffers of ``runner.model``."""
        sync_buffers(runner.model)
