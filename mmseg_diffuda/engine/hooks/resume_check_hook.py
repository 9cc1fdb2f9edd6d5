"""Refuse to resume from a checkpoint written for another model."""
from typing import List

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner, find_latest_checkpoint
from mmseg.registry import HOOKS


class CheckpointMismatchError(ValueError):
    """The checkpoint's weights do not belong to the model of the config."""


@HOOKS.register_module()
class ResumeCheckHook(Hook):
    """On ``--resume``, check that the checkpoint's state dict matches the model exactly.

    mmengine resumes with ``strict=False``: a checkpoint of another config (another method,
    backbone or class count) loads partially, with a warning among the log lines, and training
    continues from a half-random model. This hook compares the checkpoint's ``state_dict`` with
    the model's (names and shapes) when the run resumes and raises
    :class:`CheckpointMismatchError` naming the file, the differences and the config that wrote
    it. ``load_from`` without ``--resume`` (initialising from another model) is not checked.
    The checkpoint file is only read.
    """

    priority = 'HIGH'

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Compare ``checkpoint['state_dict']`` with ``runner.model`` when resuming."""
        if not runner.cfg.get('resume', False):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        expected = {name: tuple(value.shape) for name, value in model.state_dict().items()}
        saved = {name: tuple(value.shape) for name, value in checkpoint['state_dict'].items()}
        problems: List[str] = []
        missing = sorted(set(expected) - set(saved))
        unexpected = sorted(set(saved) - set(expected))
        if missing:
            problems.append(f'{len(missing)} weights of the model are not in it (e.g. '
                            f'{", ".join(missing[:3])})')
        if unexpected:
            problems.append(f'{len(unexpected)} of its weights are not in the model (e.g. '
                            f'{", ".join(unexpected[:3])})')
        shapes = [f'{n}: {saved[n]} vs {expected[n]}' for n in sorted(set(saved) & set(expected))
                  if saved[n] != expected[n]]
        if shapes:
            problems.append(f'{len(shapes)} weights differ in shape (checkpoint vs model, e.g. '
                            f'{"; ".join(shapes[:3])})')
        if not problems:
            return
        meta = checkpoint.get('meta', {})
        written_by = meta.get('experiment_name') or 'another config'
        path = runner.cfg.get('load_from') or find_latest_checkpoint(runner.work_dir)
        raise CheckpointMismatchError(
            f'Cannot resume from {path}: it was written by {written_by} for another model: '
            f'{"; ".join(problems)}. Resume with the config '
            'that wrote it, or train this config in a new --work-dir; to start from these '
            'weights on purpose use --cfg-options load_from=<checkpoint> without --resume.')
