"""torch's ``MemTracker``, taught that frozen parameters get no gradient hooks."""
from typing import Any, Sequence, Tuple

from torch import nn
from torch.distributed._tools.mem_tracker import _TOTAL_KEY, MemTracker


class _NoHook:
    """Stands for a hook handle that was never installed."""

    def remove(self) -> None:
        """Nothing to remove."""


class FrozenAwareMemTracker(MemTracker):
    """``MemTracker`` for UDA iterations: frozen parameters, several student passes.

    torch 2.14's tracker registers a gradient hook on every parameter of each module it sees
    run, and ``Tensor.register_hook`` raises ``RuntimeError: cannot register a hook on a tensor
    that doesn't require gradient`` for frozen ones (EMA teachers, frozen VAEs and text
    encoders). This tracker marks frozen parameters as hooked before the tracker's own
    bookkeeping runs; trainable ones are tracked exactly as by ``MemTracker``.

    A UDA iteration calls the student several times, with a backward in between (source loss,
    then mixed loss); ``MemTracker`` takes a second top-level call of a module for the next
    iteration and refuses it with an error (it keeps per-module statistics of one iteration).
    The plan reads only the tracker's global snapshots, so this tracker starts the module's
    statistics afresh instead; the global accounting of tensors is unchanged.
    """

    #: Modules running when the peak was reached, and whether it was in a backward pass.
    peak_modules: Sequence[str] = ()
    peak_in_backward: bool = False

    def _update_peak_stats(self, peak_state: Any) -> None:
        # The plan reads the global peak only. MemTracker also refreshes the peak of every
        # module still running after each operator, a loop over all modules per operator
        # that makes a full-size UDA iteration take minutes instead of seconds.
        for device, snapshot in self._curr_mem_snap.items():
            if self._peak_mem.get(device, 0) < snapshot[_TOTAL_KEY]:
                self._peak_mem[device] = snapshot[_TOTAL_KEY]
                self._peak_mem_snap[device] = dict(snapshot)
                self.peak_modules = sorted(self._mod_tracker.parents)
                self.peak_in_backward = self._mod_tracker.is_bw

    def _pre_fw_hook(self, module: nn.Module, inputs: Any) -> None:
        if module in self.memory_tracking and not self._mod_tracker.is_bw:
            name = self._mod_tracker.get_known_fqn(module)
            if set(self._mod_tracker.parents) - {name} <= {'Global'}:
                del self.memory_tracking[module]
        super()._pre_fw_hook(module, inputs)

    def _track_module_params_and_buffers(self, module: nn.Module,
                                         install_grad_hooks: bool = True) -> Tuple[int, int]:
        handles = self._param_to_grad_hook_handles
        for param in module.parameters():
            if not param.requires_grad and handles.get(param, None) is None:
                handles[param] = (_NoHook(), _NoHook())
        return super()._track_module_params_and_buffers(module, install_grad_hooks)
