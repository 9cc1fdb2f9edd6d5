"""Test-only hook: each process records its per-iteration losses (``rank<r>_losses.pth``).

Imported by the runs of ``test_fsdp_train.py`` through ``custom_imports``.
"""
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class RankLossRecordHook(Hook):
    """Keep every iteration's loss outputs and write them after training, one file per rank."""

    def before_train(self, runner) -> None:
        self.losses: List[Dict[str, float]] = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        self.losses.append({key: float(value) for key, value in (outputs or {}).items()
                            if 'loss' in key})

    def after_train(self, runner) -> None:
        torch.save(self.losses, osp.join(runner.work_dir, f'rank{get_rank()}_losses.pth'))
