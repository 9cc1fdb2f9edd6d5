"""Test-only hook: SIGKILL the training process in the middle of a checkpoint save.

Imported by ``test_exact_resume.py`` through ``custom_imports``.
"""
import os
import signal

from mmengine.hooks import Hook
from mmseg.registry import HOOKS

import mmseg_diffuda.engine.atomic_file as atomic_file


@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    """Kill the process with SIGKILL while the checkpoint of ``iteration`` is being written.

    The kill comes at the ``fsync`` of the checkpoint's temporary file: its bytes are written,
    the rename into ``iter_N.pth`` has not happened.

    Args:
        iteration (int): The iteration whose checkpoint save is interrupted.
    """

    priority = 'LOWEST'

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if checkpoint['meta']['iter'] == self.iteration:
            atomic_file.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
