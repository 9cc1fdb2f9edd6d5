from .plain_data_checkpoint_hook import PlainDataCheckpointHook

__all__ = ['PlainDataCheckpointHook']
