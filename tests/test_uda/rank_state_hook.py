"""Test-only hook: each process saves its teacher and student parameters after training.

Imported by the two-process run of ``test_distributed.py`` through ``custom_imports``.
"""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class RankStateDumpHook(Hook):
    """Write ``<work_dir>/rank<r>_state.pth`` with this process's parameters and iteration."""

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = dict(
            teacher={k: v.detach().cpu() for k, v in model.teacher.named_parameters()},
            student={k: v.detach().cpu() for k, v in model.student_module.named_parameters()},
            local_iter=int(model.local_iter))
        torch.save(state, osp.join(runner.work_dir, f'rank{get_rank()}_state.pth'))
