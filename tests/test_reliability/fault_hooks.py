"""Test-only hook: turn a student weight into NaN before an iteration (a diverging run).

Imported by ``test_training_faults.py`` through ``custom_imports``.
"""
import math

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class PoisonWeightsHook(Hook):
    """Set the student's classifier weights to NaN before iteration ``iteration`` (1-based).

    Args:
        iteration (int): The first iteration whose losses are NaN.
    """

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if batch_idx + 1 == self.iteration:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            with torch.no_grad():
                model.student_module.decode_head.conv_seg.weight.fill_(math.nan)
