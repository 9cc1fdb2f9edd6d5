"""mmengine's CheckpointHook with atomic writes and removal of old checkpoints after saving."""
import os.path as osp
from pathlib import Path
from typing import Optional, Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from ..atomic_file import atomic_write_bytes

#: Name of the file backend that writes local files atomically.
ATOMIC_LOCAL_BACKEND = 'atomic_local'


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes go through a temporary file and a rename."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` to ``filepath`` atomically (see :func:`atomic_write_bytes`)."""
        atomic_write_bytes(obj, str(filepath))

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Write the text ``obj`` to ``filepath`` atomically."""
        atomic_write_bytes(obj.encode(encoding), str(filepath))


register_backend(ATOMIC_LOCAL_BACKEND, AtomicLocalBackend, force=True)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that never leaves ``--resume`` without an intact checkpoint.

    mmengine 0.10.7's hook (1) writes the checkpoint in place, so a process killed while writing
    leaves a truncated ``iter_N.pth``; (2) with ``max_keep_ckpts`` it removes the oldest kept
    checkpoint *before* writing the new one, so with ``max_keep_ckpts=1`` a kill during the save
    leaves no complete checkpoint at all; (3) writes ``last_checkpoint`` in place. This hook
    writes the checkpoint and ``last_checkpoint`` through a temporary file, ``fsync`` and a
    rename (:class:`AtomicLocalBackend`, unless ``backend_args`` names another backend), and
    removes outdated checkpoints only after ``last_checkpoint`` points to the new one. A kill
    at any moment therefore leaves ``last_checkpoint`` naming a complete file.

    Args:
        backend_args (dict, optional): File backend arguments; None selects the atomic local
            backend. Defaults to None.
        **kwargs: The other arguments of ``CheckpointHook`` (``interval``, ``by_epoch``,
            ``max_keep_ckpts``, ...).
    """

    def __init__(self, backend_args: Optional[dict] = None, **kwargs) -> None:
        if backend_args is None:
            backend_args = dict(backend=ATOMIC_LOCAL_BACKEND)
        super().__init__(backend_args=backend_args, **kwargs)

    def _save_checkpoint_with_step(self, runner: Runner, step: int, meta: dict) -> None:
        """Save the checkpoint of ``step``, point ``last_checkpoint`` to it, then prune."""
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write_bytes(str(self.last_ckpt).encode(), osp.join(runner.work_dir,
                                                                  'last_checkpoint'))
        if outdated is not None:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(outdated))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)
