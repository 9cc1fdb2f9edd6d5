"""Compare two training checkpoints part by part (used to verify exact resume)."""
from typing import Any, Dict

import numpy as np
import torch

from .plain_data import from_plain_data


def _max_abs_diff(a: Any, b: Any, path: str) -> float:
    """Largest absolute difference between two nested structures of tensors and numbers.

    Raises:
        ValueError: If the structures differ (keys, lengths, shapes or types).
    """
    if isinstance(a, dict):
        if set(a) != set(b):
            raise ValueError(f'{path}: keys differ: {sorted(set(a) ^ set(b))}')
        return max([_max_abs_diff(a[k], b[k], f'{path}.{k}') for k in a], default=0.0)
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            raise ValueError(f'{path}: lengths differ ({len(a)} vs {len(b)})')
        return max([_max_abs_diff(x, y, f'{path}[{i}]') for i, (x, y) in enumerate(zip(a, b))],
                   default=0.0)
    if isinstance(a, torch.Tensor):
        if a.shape != b.shape:
            raise ValueError(f'{path}: shapes differ ({tuple(a.shape)} vs {tuple(b.shape)})')
        if a.numel() == 0:
            return 0.0
        return float((a.double() - b.double()).abs().max())
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b))
    return 0.0 if a == b else float('inf')


def checkpoint_differences(a: dict, b: dict) -> Dict[str, float]:
    """Max |difference| of two checkpoints' student, teacher, other weights, optimiser, losses.

    Args:
        a (dict): A checkpoint (as loaded with ``torch.load(weights_only=True)``).
        b (dict): The checkpoint to compare with.

    Returns:
        dict[str, float]: ``student`` / ``teacher`` (state-dict entries with that prefix;
        ``student`` is the whole state dict of a plain segmentor), ``other`` (remaining
        entries, e.g. ``local_iter``, auxiliary networks, discriminators), ``optimizer``,
        ``param_schedulers`` and ``losses`` (the logged ``train/*loss*`` histories).
    """
    state_a, state_b = a['state_dict'], b['state_dict']
    if set(state_a) != set(state_b):
        raise ValueError(f'state dicts differ in keys: {sorted(set(state_a) ^ set(state_b))}')
    uda = any(key.startswith('student.') for key in state_a)
    groups: Dict[str, list] = dict(student=[], teacher=[], other=[])
    for key in state_a:
        group = key.split('.', 1)[0] if uda else 'student'
        groups[group if group in groups else 'other'].append(key)
    result = {
        name: max([_max_abs_diff(state_a[k], state_b[k], k) for k in keys], default=0.0)
        for name, keys in groups.items()
    }
    for part in ('optimizer', 'param_schedulers'):
        result[part] = _max_abs_diff(a.get(part), b.get(part), part)
    logs_a = from_plain_data(a['message_hub'])['log_scalars']
    logs_b = from_plain_data(b['message_hub'])['log_scalars']
    losses = [key for key in logs_a if key.startswith('train/') and 'loss' in key]
    result['losses'] = max([
        float(np.abs(logs_a[k].data[0] - logs_b[k].data[0]).max()) if len(logs_a[k].data[0]) ==
        len(logs_b[k].data[0]) else float('inf') for k in losses
    ], default=0.0)
    return result
