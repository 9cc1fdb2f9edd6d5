"""Runtime pieces: checkpoint hooks, exact-resume loop, plain-data helpers, distributed set-up."""
from .atomic_file import atomic_write_bytes
from .checkpoint_diff import checkpoint_differences
from .distributed import setup_cpu_distributed
from .exact_resume_loop import ExactResumeIterBasedTrainLoop
from .fsdp2_strategy import FSDP2Strategy
from .hooks import (AtomicCheckpointHook, AtomicLocalBackend, CheckpointMismatchError,
                    ClassCheckHook, ClassMismatchError, IterSyncBuffersHook, NonFiniteLossError,
                    NonFiniteLossHook, PlainDataCheckpointHook, ResumeCheckHook,
                    UDAVisualizationHook, sync_buffers)
from .plain_data import (find_non_plain, from_plain_data, is_weights_only_error, to_plain_data,
                         weights_only_error_detail, weights_only_error_message)
from .random_state import get_random_state, seeded_random_state, set_random_state

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'CheckpointMismatchError', 'ClassCheckHook',
    'ClassMismatchError', 'ExactResumeIterBasedTrainLoop', 'FSDP2Strategy', 'IterSyncBuffersHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'PlainDataCheckpointHook', 'ResumeCheckHook',
    'atomic_write_bytes', 'checkpoint_differences', 'find_non_plain', 'from_plain_data',
    'get_random_state', 'is_weights_only_error', 'seeded_random_state', 'set_random_state',
    'setup_cpu_distributed', 'sync_buffers', 'to_plain_data', 'UDAVisualizationHook',
    'weights_only_error_detail',
    'weights_only_error_message'
]
