"""Test-only hook: each process saves its teacher and student state and a prediction after training.

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
    """Write ``<work_dir>/rank<r>_state.pth``: parameters, buffers, iteration, val logits.

    The logits are those of the evaluated network (the student) on a fixed input in eval mode,
    i.e. what this process would predict for its shard of the validation set.
    """

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        image = torch.randn(1, 3, 64, 128, generator=torch.Generator().manual_seed(0))
        model.eval()
        with torch.no_grad():
            logits = model.eval_module.encode_decode(
                image, [dict(img_shape=(64, 128), ori_shape=(64, 128), pad_shape=(64, 128))])
        model.train()
        state = dict(
            teacher={k: v.detach().cpu() for k, v in model.teacher.named_parameters()},
            student={k: v.detach().cpu() for k, v in model.student_module.named_parameters()},
            teacher_buffers={k: v.cpu() for k, v in model.teacher.named_buffers()},
            student_buffers={k: v.cpu() for k, v in model.student_module.named_buffers()},
            val_logits=logits,
            local_iter=int(model.local_iter))
        torch.save(state, osp.join(runner.work_dir, f'rank{get_rank()}_state.pth'))
