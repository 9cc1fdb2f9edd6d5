"""Self-training UDA segmentors: the student/teacher base class and the methods built on it."""
from .base import UDASegmentor
from .crossmatch import CrossMatch
from .dacs import DACS
from .diff_encoder_decoder import DiffEncoderDecoder
from .frozen_encoder import FrozenEncoder
from .iccld import ICCLD, LatentFeatureEncoderDecoder
from .lc_msm import LanguageConditionedEncoderDecoder, LCMSM
from .madm import LatentEncoderDecoder, MADM
from .rgbd_auxiliary import DepthEncoder, RGBDAuxiliaryNetwork
from .uda_encoder_decoder import UDAEncoderDecoder

__all__ = [
    'UDASegmentor', 'DACS', 'FrozenEncoder', 'LatentEncoderDecoder', 'MADM', 'UDAEncoderDecoder',
    'DiffEncoderDecoder', 'ICCLD', 'LatentFeatureEncoderDecoder',
    'CrossMatch', 'DepthEncoder', 'RGBDAuxiliaryNetwork', 'LanguageConditionedEncoderDecoder', 'LCMSM'
]
