from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .class_check_hook import ClassCheckHook, ClassMismatchError
from .plain_data_checkpoint_hook import PlainDataCheckpointHook

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'ClassCheckHook', 'ClassMismatchError',
    'PlainDataCheckpointHook'
]
