from .plain_data_checkpoint_hook import PlainDataCheckpointHook
from .uda_visualization_hook import UDAVisualizationHook

__all__ = ['PlainDataCheckpointHook', 'UDAVisualizationHook']
