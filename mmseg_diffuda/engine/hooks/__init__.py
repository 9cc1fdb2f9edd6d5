from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .class_check_hook import ClassCheckHook, ClassMismatchError
from .iter_sync_buffers_hook import IterSyncBuffersHook, sync_buffers
from .plain_data_checkpoint_hook import PlainDataCheckpointHook

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'ClassCheckHook', 'ClassMismatchError',
    'IterSyncBuffersHook', 'PlainDataCheckpointHook', 'sync_buffers'
]
