"""Test-only hook: each process records its per-iteration losses (``rank<r>_losses.pth``).

After training it also writes the process's own copy of the trainable parameters that are not
sharded (``rank<r>_local_params.pth``): under ``--strategy fsdp`` the replicated networks (ICCLD's
discriminator), which must be identical on every process.

Imported by the runs of ``test_fsdp_train.py`` through ``custom_imports``.
"""
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS
from torch.distributed.tensor import DTensor


@HOOKS.register_module()
class RankLossRecordHook(Hook):
    """Keep every iteration's loss outputs and write them after training, one file per rank."""

    def before_train(self, runner) -> None:
        self.losses: List[Dict[str, float]] = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        # ``disc.*``: ICCLD's discriminator loss (``disc.domain_ce``) and accuracies
        self.losses.append({key: float(value) for key, value in (outputs or {}).items()
                            if 'loss' in key or key.startswith('disc.')})

    def after_train(self, runner) -> None:
        torch.save(self.losses, osp.join(runner.work_dir, f'rank{get_rank()}_losses.pth'))
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        local = {name: param.detach().clone() for name, param in model.named_parameters()
                 if param.requires_grad and not isinstance(param, DTensor)}
        torch.save(local, osp.join(runner.work_dir, f'rank{get_rank()}_local_params.pth'))
