"""Stop training at the first NaN/inf loss, before a checkpoint of the broken model is saved."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A loss term of a training iteration is NaN or infinite."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when a logged loss of an iteration is not finite.

    ``priority='HIGHEST'`` runs it first in ``after_train_iter``, i.e. before the checkpoint
    hook: the iteration that produced the NaN is never saved, so the last checkpoint on disk is
    the last good model. The message names the iteration, every non-finite loss term and that
    checkpoint.
    """

    priority = 'HIGHEST'

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Check every ``*loss*`` entry of ``outputs``.

        Raises:
            NonFiniteLossError: Naming the iteration (1-based, as logged), the loss terms and
                the last checkpoint.
        """
        bad = {}
        for name, value in (outputs or {}).items():
            if 'loss' not in name:
                continue
            number = float(value.detach().float().sum()) if torch.is_tensor(value) else float(value)
            if not math.isfinite(number):
                bad[name] = number
        if not bad:
            return
        last = runner.message_hub.get_info('last_ckpt')
        terms = ', '.join(f'{name}={value}' for name, value in bad.items())
        raise NonFiniteLossError(
            f'Training stopped at iteration {batch_idx + 1}: non-finite loss {terms}. The model '
            'of this iteration was not saved; '
            + (f'the last good checkpoint is {last}: resume from it (--resume) '
               if last else 'no checkpoint was written yet; restart ')
            + 'after lowering the learning rate (optim_wrapper.optimizer.lr), enabling gradient '
            'clipping (optim_wrapper.clip_grad=dict(max_norm=...)) or, with --amp, using bf16; '
            'check the data of this iteration if it happens again at the same place.')
