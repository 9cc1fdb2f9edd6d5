"""Convert checkpoint contents to plain data that ``torch.load(weights_only=True)`` accepts.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: it only unpickles tensors and
built-in containers/scalars. mmengine 0.10.7 calls ``torch.load`` without arguments, and the
checkpoints its ``Runner`` writes hold objects the safe loader refuses:

* the message hub's :class:`~mmengine.logging.HistoryBuffer` objects (their pickled
  ``_statistics_methods`` reference bound methods through ``builtins.getattr``; allow-listing
  ``getattr`` would let any checkpoint call arbitrary attributes, so it must not be done),
* numpy arrays inside those buffers and numpy scalars in the runtime information (e.g. ``eta``).

:func:`to_plain_data` rewrites such values into tagged plain dictionaries of tensors and Python
numbers; :func:`from_plain_data` rebuilds the original objects. Numpy scalars become Python numbers
(``float(np.float64(x)) == x`` exactly), so they need no tag.
"""
import os.path as osp
import pickle
from collections import OrderedDict
from typing import Any, Callable, List, Optional

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

#: Key of the single-key dictionary that replaces a ``HistoryBuffer``.
HISTORY_BUFFER_TAG = '__history_buffer__'
#: Key of the single-key dictionary that replaces a ``numpy.ndarray``.
NDARRAY_TAG = '__ndarray__'

# Leaf types the weights-only unpickler of torch >= 2.6 accepts.
_PLAIN_LEAVES = (torch.Tensor, str, bytes, bool, int, float, complex, type(None), torch.Size,
                 torch.dtype, torch.device)


def _array_to_plain(array: np.ndarray) -> dict:
    """Return a tagged dict holding ``array`` as a tensor (numeric) or a list (other dtypes)."""
    if array.dtype.kind in 'biufc':
        data: Any = torch.from_numpy(np.ascontiguousarray(array).copy())
    else:
        data = array.tolist()
    return {NDARRAY_TAG: dict(data=data, dtype=array.dtype.str)}


def _history_buffer_to_plain(buffer: HistoryBuffer) -> dict:
    """Return a tagged dict with the log/count histories and ``max_length`` of ``buffer``."""
    log_history, count_history = buffer.data
    return {
        HISTORY_BUFFER_TAG:
        dict(
            log_history=_array_to_plain(log_history),
            count_history=_array_to_plain(count_history),
            max_length=int(buffer.max_length))
    }


def to_plain_data(obj: Any) -> Any:
    """Recursively replace objects the safe loader refuses by plain data.

    ``HistoryBuffer`` and ``numpy.ndarray`` become tagged dicts (see :func:`from_plain_data`),
    numpy scalars become Python numbers, dict subclasses other than ``OrderedDict`` (e.g.
    mmengine's ``ConfigDict``) become ``dict``. Tensors and other plain values are returned as
    they are; unknown objects are left untouched (see :func:`find_non_plain`).

    Args:
        obj (Any): A checkpoint or a part of it.

    Returns:
        Any: The same structure made of plain data where possible.
    """
    if isinstance(obj, HistoryBuffer):
        return _history_buffer_to_plain(obj)
    if isinstance(obj, np.ndarray):
        return _array_to_plain(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return _map_dict(obj, to_plain_data)
    if type(obj) in (list, tuple, set):
        return type(obj)(to_plain_data(value) for value in obj)
    return obj


def _map_dict(mapping: dict, fn: Callable[[Any], Any]) -> dict:
    """Apply ``fn`` to the values of ``mapping``, returning a ``dict`` or ``OrderedDict``.

    An ``OrderedDict`` keeps its instance attributes: ``Module.state_dict()`` stores the module
    versions in ``_metadata``, which ``load_state_dict`` needs (e.g. for BatchNorm buffers).
    """
    if not isinstance(mapping, OrderedDict):
        return {key: fn(value) for key, value in mapping.items()}
    result = OrderedDict((key, fn(value)) for key, value in mapping.items())
    result.__dict__.update({name: fn(value) for name, value in vars(mapping).items()})
    return result


def _is_tagged(obj: Any, tag: str) -> bool:
    return isinstance(obj, dict) and len(obj) == 1 and tag in obj


def _array_from_plain(tagged: dict) -> np.ndarray:
    """Inverse of :func:`_array_to_plain`."""
    content = tagged[NDARRAY_TAG]
    data = content['data']
    if isinstance(data, torch.Tensor):
        data = data.numpy()
    return np.asarray(data, dtype=np.dtype(content['dtype']))


def from_plain_data(obj: Any) -> Any:
    """Recursively rebuild the ``HistoryBuffer``/``ndarray`` objects tagged by
    :func:`to_plain_data`.

    Args:
        obj (Any): Plain data, e.g. a checkpoint loaded with ``weights_only=True``.

    Returns:
        Any: The structure with tagged dicts replaced by the objects they describe.
    """
    if _is_tagged(obj, HISTORY_BUFFER_TAG):
        content = obj[HISTORY_BUFFER_TAG]
        return HistoryBuffer(
            log_history=_array_from_plain(content['log_history']),
            count_history=_array_from_plain(content['count_history']),
            max_length=content['max_length'])
    if _is_tagged(obj, NDARRAY_TAG):
        return _array_from_plain(obj)
    if isinstance(obj, dict):
        return _map_dict(obj, from_plain_data)
    if type(obj) in (list, tuple, set):
        return type(obj)(from_plain_data(value) for value in obj)
    return obj


def find_non_plain(obj: Any, path: str = 'checkpoint') -> List[str]:
    """List the places in ``obj`` that ``torch.load(weights_only=True)`` would refuse.

    Args:
        obj (Any): A checkpoint or a part of it.
        path (str): Name of ``obj`` used as the prefix of the returned paths.
            Defaults to ``'checkpoint'``.

    Returns:
        list[str]: Entries like ``"checkpoint['meta']['eta'] (numpy.float64)"``; empty when all
        of ``obj`` is plain data.
    """
    if type(obj) in (dict, OrderedDict):
        found = []
        for key, value in obj.items():
            found += find_non_plain(key, f'{path} key {key!r}')
            found += find_non_plain(value, f'{path}[{key!r}]')
        for name, value in vars(obj).items() if isinstance(obj, OrderedDict) else ():
            found += find_non_plain(value, f'{path}.{name}')
        return found
    if type(obj) in (list, tuple, set):
        return [
            item for i, value in enumerate(obj)
            for item in find_non_plain(value, f'{path}[{i}]')
        ]
    # numpy.float64 subclasses float, yet the safe unpickler refuses it
    if isinstance(obj, _PLAIN_LEAVES) and not isinstance(obj, np.generic):
        return []
    return [f'{path} ({type(obj).__module__}.{type(obj).__qualname__})']


def is_weights_only_error(error: BaseException) -> bool:
    """Whether ``error`` is torch's refusal to unpickle a non-plain checkpoint safely."""
    return isinstance(error, pickle.UnpicklingError) and 'Weights only load failed' in str(error)


def weights_only_error_detail(error: BaseException) -> str:
    """Return the line of a ``weights_only`` error that names the refused object."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    detail = [line for line in lines if 'WeightsUnpickler error' in line]
    return detail[0] if detail else (lines[0] if lines else repr(error))


#: Globals that checkpoints written by mmengine 0.10.7 without ``PlainDataCheckpointHook``
#: reference: the message hub's HistoryBuffers (with ``builtins.getattr`` for their bound
#: methods), numpy arrays/scalars and ordered dicts. Anything else is not checkpoint content.
LEGACY_CHECKPOINT_GLOBALS = ('mmengine.', 'numpy.', 'builtins.getattr', 'collections.')


def unsafe_globals(checkpoint: str) -> List[str]:
    """List the Python globals a checkpoint references that safe loading refuses.

    The pickle stream is scanned without executing it
    (``torch.serialization.get_unsafe_globals_in_checkpoint``).

    Args:
        checkpoint (str): Path of the checkpoint.

    Returns:
        list[str]: Fully qualified names such as ``'posix.system'``; empty if the file cannot be
        scanned.
    """
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(checkpoint))
    except Exception:  # not a torch zip file, unreadable, or an old torch
        return []


def plain_copy_path(checkpoint: str) -> str:
    """The default output of the converter for ``checkpoint``: ``<name>_plain.pth`` beside it."""
    root, ext = osp.splitext(checkpoint)
    return f'{root}_plain{ext or ".pth"}'


def describe_unsafe_checkpoint(checkpoint: str, detail: str) -> str:
    """Say what a checkpoint refused by safe loading holds, and whether converting it is sane.

    Args:
        checkpoint (str): Path of the checkpoint.
        detail (str): torch's line naming the refused object.

    Returns:
        str: The globals the file references and, for globals that no mmengine checkpoint
        holds, a warning not to load it with ``--trust``.
    """
    found = unsafe_globals(checkpoint)
    unexpected = [name for name in found if not name.startswith(LEGACY_CHECKPOINT_GLOBALS)]
    listing = ', '.join(found) if found else 'could not be listed'
    if unexpected:
        return (f'{checkpoint} references Python globals that no training checkpoint holds: '
                f'{", ".join(unexpected)} (all globals: {listing}; torch: {detail}). Loading it '
                'fully would run them: it may be malicious. Do not convert it with --trust '
                'unless you know exactly where it comes from and what it does.')
    return (f'{checkpoint} references these Python globals, which torch.load(weights_only=True) '
            f'refuses: {listing} (torch: {detail}). These are what mmengine writes without '
            'PlainDataCheckpointHook (message-hub HistoryBuffers, numpy scalars): an older run '
            'or another tool.')


def weights_only_error_message(error: BaseException, checkpoint: Optional[str] = None) -> str:
    """Explain a ``weights_only`` unpickling error and point to the converter.

    Args:
        error (BaseException): The error raised by ``torch.load``.
        checkpoint (str, optional): The checkpoint being loaded, if known.

    Returns:
        str: A message naming the globals the file references (flagging those that no
        checkpoint holds) and the conversion command, which writes a new file.
    """
    detail = weights_only_error_detail(error)
    if checkpoint is not None and osp.isfile(checkpoint):
        what = describe_unsafe_checkpoint(checkpoint, detail)
    else:
        what = f'{checkpoint or "The checkpoint"} is refused by safe loading: {detail}.'
    source = checkpoint or 'IN.pth'
    return (f'Cannot load {checkpoint or "the checkpoint"} with torch.load(weights_only=True).\n'
            f'{what}\n'
            'Allow-listing classes as torch suggests does not suffice (the buffers pickle bound '
            'methods). If you trust the file, convert it once to a new plain-data file:\n'
            f'    python tools/model_converters/plain_checkpoint.py {source} '
            f'{plain_copy_path(source)} --trust\n'
            'Configs inheriting configs/_base_/default_runtime.py write plain checkpoints.')
