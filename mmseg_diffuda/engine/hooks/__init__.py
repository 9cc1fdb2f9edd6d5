from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .class_check_hook import ClassCheckHook, ClassMismatchError
from .iter_sync_buffers_hook import IterSyncBuffersHook, sync_buffers
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .plain_data_checkpoint_hook import PlainDataCheckpointHook
from .resume_check_hook import CheckpointMismatchError, ResumeCheckHook
from .uda_visualization_hook import UDAVisualizationHook

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'CheckpointMismatchError', 'ClassCheckHook',
    'ClassMismatchError', 'IterSyncBuffersHook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'PlainDataCheckpointHook', 'ResumeCheckHook', 'UDAVisualizationHook', 'sync_buffers'
]
