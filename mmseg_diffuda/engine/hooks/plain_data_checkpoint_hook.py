"""A hook that makes mmengine checkpoints loadable with ``torch.load(weights_only=True)``."""
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ..plain_data import find_non_plain, from_plain_data, to_plain_data


@HOOKS.register_module()
class PlainDataCheckpointHook(Hook):
    """Write checkpoints as plain data and rebuild the message hub on load.

    torch >= 2.6 loads with ``weights_only=True`` by default and mmengine 0.10.7's ``Runner``
    calls ``torch.load`` without arguments, so ``--resume`` fails on the message hub's
    ``HistoryBuffer`` objects and on numpy scalars such as ``eta``. Rather than disabling safe
    loading, this hook rewrites the checkpoint into tensors and built-in types
    (:func:`~mmseg_diffuda.engine.plain_data.to_plain_data`) and restores the buffers when a
    checkpoint is loaded.

    Call order in mmengine 0.10.7 (``mmengine/runner/runner.py``):

    .. code:: text

        save_checkpoint(): build {meta, state_dict, message_hub, optimizer, param_schedulers}
                           -> call_hook('before_save_checkpoint')  # rewritten here
                           -> torch.save
        resume():          load_checkpoint() -> torch.load
                                             -> call_hook('after_load_checkpoint')  # rebuilt here
                           -> message_hub.load_state_dict(checkpoint['message_hub'])
                           -> optimizer / param scheduler load_state_dict

    Note:
        - ``priority='VERY_LOW'`` makes this hook run after other hooks that add entries in
          ``before_save_checkpoint`` (e.g. an EMA state), so those are converted too.
        - Objects without a plain-data form are left as they are and logged as a warning: such
          a checkpoint loads only after ``tools/model_converters/plain_checkpoint.py --trust``.
        - Checkpoints written without this hook are not affected on load; the tools print how
          to convert them when torch refuses them.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Replace every entry of ``checkpoint`` by plain data.

        Args:
            runner (Runner): The runner saving the checkpoint.
            checkpoint (dict): The checkpoint, modified in place.
        """
        for key in list(checkpoint):
            checkpoint[key] = to_plain_data(checkpoint[key])
        self._warn_non_plain(runner, checkpoint)

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Rebuild the ``HistoryBuffer`` and array objects of a plain-data checkpoint.

        Args:
            runner (Runner): The runner loading the checkpoint.
            checkpoint (dict): The loaded checkpoint, modified in place.
        """
        for key in list(checkpoint):
            checkpoint[key] = from_plain_data(checkpoint[key])

    @staticmethod
    def _warn_non_plain(runner: Runner, checkpoint: dict) -> None:
        """Log the entries that will still make ``torch.load(weights_only=True)`` fail."""
        leftovers = find_non_plain(checkpoint)
        if leftovers:
            runner.logger.warning(
                'PlainDataCheckpointHook: these checkpoint entries are not plain data, so '
                'torch.load(weights_only=True) will refuse the checkpoint: ' + ', '.join(leftovers))
