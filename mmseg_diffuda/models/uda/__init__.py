"""Self-training UDA segmentors: the student/teacher base class and the methods built on it."""
from .base import UDASegmentor
from .dacs import DACS
from .frozen_encoder import FrozenEncoder
from .madm import LatentEncoderDecoder, MADM
from .uda_encoder_decoder import UDAEncoderDecoder

__all__ = [
    'UDASegmentor', 'DACS', 'FrozenEncoder', 'LatentEncoderDecoder', 'MADM', 'UDAEncoderDecoder'
]
