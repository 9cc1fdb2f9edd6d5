"""Models: backbones, decode heads, UDA segmentors and their building blocks."""
from . import backbones, decode_heads, uda, utils  # noqa: F401
