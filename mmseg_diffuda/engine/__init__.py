"""Runtime pieces: checkpoint hook, plain-data checkpoint helpers and distributed set-up."""
from .distributed import setup_cpu_distributed
from .hooks import PlainDataCheckpointHook, UDAVisualizationHook
from .plain_data import (find_non_plain, from_plain_data, is_weights_only_error, to_plain_data,
                         weights_only_error_detail, weights_only_error_message)

__all__ = [
    'PlainDataCheckpointHook', 'find_non_plain', 'from_plain_data', 'is_weights_only_error',
    'setup_cpu_distributed', 'to_plain_data', 'UDAVisualizationHook', 'weights_only_error_detail',
    'weights_only_error_message'
]
