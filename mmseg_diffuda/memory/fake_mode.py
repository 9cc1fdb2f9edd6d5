"""A fake-tensor mode that answers the data-dependent reads of a training iteration.

Under :class:`torch._subclasses.fake_tensor.FakeTensorMode` tensors have shapes, dtypes and
devices but no data, so a training iteration allocates nothing and computes nothing. Three kinds
of operation need data and stop plain fake execution; a UDA iteration has all three:

- ``Tensor.item()`` / ``int(tensor)`` (``aten._local_scalar_dense``): the EMA iteration counter,
  the strong-augmentation coin flips, logged ratios;
- ``torch.unique`` (``aten._unique2``, ...): the classes ClassMix chooses from and the classes
  DIFF builds prompts for;
- ``Tensor.nonzero`` and boolean indexing (output shape depends on the data).

Small tensors built from Python data (up to :data:`CONSTANT_NUMEL_LIMIT` elements) keep their
real values through FakeTensorMode's constant propagation, so checks on configuration constants
give their true answer.

:class:`PlanFakeTensorMode` answers them with **worst-case placeholders** chosen so that the
iteration takes its most memory-hungry path: every coin flip applies its augmentation (``True`` /
``1.0``: every ``rand().item() > p`` test passes), ``unique`` returns every class id
``0 .. num_classes - 1`` (all classes present), and ``nonzero`` selects every element. Boolean
reads return False, ``any`` returns False and ``all`` True: data checks (``if <invalid>:
raise``, ``if not torch.all(valid): raise``) pass, rejection loops (``if not mask.any():
break``) stop after one round, and an ``if mask.any():`` branch takes its "nothing present"
path (in this project only the feature-distance loss's shortcut for crops without a thing
class, whose other path indexes a stride-32 map: a few kilobytes).
Integer reads return 0 (iteration counters: the plan is the same at every iteration; the EMA
update's arithmetic does not depend on the counter). Weight initialisation is skipped by the
planner anyway: fake weights have no values to initialise.
"""
from contextlib import contextmanager
from typing import Any, Iterator, Optional

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode

aten = torch.ops.aten

#: Operators whose output size depends on the values of the input.
UNIQUE_OPS = (aten._unique2.default, aten._unique.default, aten.unique_dim.default,
              aten.unique_consecutive.default)
NONZERO_OPS = (aten.nonzero.default, )
#: Reductions that data checks use, and the answer that makes every check pass: ``all`` is
#: True (every element valid), ``any`` is False (no element invalid).
CHECK_REDUCTIONS = {aten.all: True, aten.any: False}
#: Largest tensor (elements) whose values constant propagation keeps (torch's default: 1).
CONSTANT_NUMEL_LIMIT = 1024


class PlanFakeTensorMode(FakeTensorMode):
    """``FakeTensorMode`` with worst-case answers to data-dependent operators.

    Args:
        num_classes (int): Number of distinct values ``torch.unique`` returns (the classes a
            label map may hold). Defaults to 19.
    """

    def __init__(self, num_classes: int = 19) -> None:
        super().__init__(allow_non_fake_inputs=True)
        self.num_classes = num_classes

    def __deepcopy__(self, memo: dict) -> 'PlanFakeTensorMode':
        # Every fake tensor refers to its mode; ``copy.deepcopy`` of a fake module (the EMA
        # teacher is a deep copy of the student) must share the mode, not copy it.
        return self

    def may_turn_const(self, tensor: torch.Tensor) -> bool:
        # Small tensors built from Python data (``torch.tensor([...])``) keep their values, so
        # checks on configuration constants (kornia's parameter validation) compute for real.
        return (tensor.numel() <= CONSTANT_NUMEL_LIMIT and not tensor.is_sparse
                and not self.is_our_fake(tensor) and tensor.device.type != 'meta')

    def constant(self, value: torch.Tensor) -> FakeTensor:
        """A fake tensor that remembers ``value`` (so ``tolist()`` / ``item()`` work on it).

        Args:
            value (Tensor): A small real tensor.

        Returns:
            FakeTensor: Its fake counterpart, carrying the values.
        """
        return self.fake_tensor_converter.from_real_tensor(self, value, make_constant=True)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None) -> Any:
        kwargs = kwargs or {}
        if func is aten._local_scalar_dense.default and _constant(args[0]) is None:
            return _placeholder_scalar(args[0].dtype)
        if func.overloadpacket in CHECK_REDUCTIONS and not all(
                _constant(arg) is not None for arg in args if isinstance(arg, torch.Tensor)):
            out = super().__torch_dispatch__(func, types, args, kwargs)
            if out.numel() > CONSTANT_NUMEL_LIMIT:
                return out
            answer = CHECK_REDUCTIONS[func.overloadpacket]
            return self.constant(torch.full(out.shape, answer, dtype=torch.bool))
        if func in UNIQUE_OPS:
            return self._unique(func, args[0])
        if func in NONZERO_OPS:
            source = args[0]
            with self:
                return torch.empty((source.numel(), source.dim()), dtype=torch.long,
                                   device=source.device)
        return super().__torch_dispatch__(func, types, args, kwargs)

    def _unique(self, func, source: torch.Tensor) -> Any:
        """Every class id as the unique values; empty inverse/count outputs."""
        values = self.constant(torch.arange(self.num_classes, dtype=source.dtype))
        num_returns = len(func._schema.returns)
        if num_returns == 1:
            return values
        extra = self.constant(torch.zeros(0, dtype=torch.long))
        return (values, ) + (extra, ) * (num_returns - 1)


def _constant(tensor: torch.Tensor) -> Optional[torch.Tensor]:
    """The real values a fake tensor carries, if any."""
    return getattr(tensor, 'constant', None)


def _placeholder_scalar(dtype: torch.dtype) -> Any:
    """The worst-case Python value of ``item()`` for ``dtype``."""
    if dtype == torch.bool:
        return False
    if dtype.is_floating_point:
        return 1.0
    return 0


@contextmanager
def fake_deepcopy() -> Iterator[None]:
    """Let ``copy.deepcopy`` and ``Module.to(dtype)`` handle fake tensors.

    The EMA teacher is a deep copy of the student; frozen parts are cast with ``Module.to``.

    ``Tensor.__deepcopy__`` copies a fake tensor's storage, which torch 2.14 refuses
    (``Attempted to set the storage of a tensor on device "meta" to a storage on different
    device "cpu"``). Inside this context a fake tensor deep-copies as its ``clone()`` (a new fake
    tensor of the same size, as a real deep copy allocates), keeping ``Parameter`` and
    ``requires_grad``.
    """
    def deepcopy(tensor: FakeTensor, memo: dict) -> torch.Tensor:
        if id(tensor) in memo:
            return memo[id(tensor)]
        with torch.no_grad():
            copied = tensor.clone()
        if isinstance(tensor, nn.Parameter):
            copied = nn.Parameter(copied, requires_grad=tensor.requires_grad)
        memo[id(tensor)] = copied
        return copied

    previous = FakeTensor.__dict__.get('__deepcopy__')
    FakeTensor.__deepcopy__ = deepcopy
    swap_tensors = torch.utils.swap_tensors

    def swap_or_set_data(first: torch.Tensor, second: torch.Tensor) -> None:
        # ``Module.to(dtype)`` swaps fake parameters, which torch refuses for tensors with a
        # weak reference (``Cannot swap t1 because it has weakref associated with it``; fake
        # tensors have them): give the parameter the converted data instead.
        try:
            swap_tensors(first, second)
        except RuntimeError:
            if not (isinstance(first, FakeTensor) and isinstance(second, FakeTensor)):
                raise
            first.data = second.data

    torch.utils.swap_tensors = swap_or_set_data
    try:
        yield
    finally:
        torch.utils.swap_tensors = swap_tensors
        if previous is None:
            del FakeTensor.__deepcopy__
        else:
            FakeTensor.__deepcopy__ = previous
