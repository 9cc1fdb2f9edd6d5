"""Procedural toy street scenes in the GTA5, Cityscapes and DELIVER file formats.

The toy data lets the whole UDA pipeline (converters, datasets, rare-class sampling, training and
evaluation) run on a CPU in minutes with the same code paths as the real datasets. Modules:

* :mod:`.geometry`, :mod:`.shapes`, :mod:`.layout`, :mod:`.scene`: the scene model (camera, street
  layout, objects) and the ray caster that produces labels and metric depth;
* :mod:`.render`, :mod:`.domains`: per-domain appearance (source, target, DELIVER conditions) and
  the depth-like modality;
* :mod:`.labels`, :mod:`.writers`: class tables and the on-disk formats;
* :mod:`.generate`: :func:`generate_toy_dataset`, used by ``tools/make_toy_data.py``.
"""
from .domains import CITYSCAPES, DELIVER, DELIVER_CONDITIONS, GTA5, DomainSpec, deliver_style
from .generate import (Tree, cityscapes_stem, deliver_location, generate_toy_dataset,
                       sample_toy_scene)
from .labels import CITYSCAPES_TO_DELIVER, DELIVER_CLASSES, cityscapes_palette, deliver_value_lut
from .layout import LayoutParams
from .render import AppearanceStyle, encode_depth_like, render_depth_like, render_rgb
from .scene import Scene, sample_scene
from .writers import camera_dict, deliver_semantic, encode_disparity

__all__ = [
    'AppearanceStyle', 'CITYSCAPES', 'CITYSCAPES_TO_DELIVER', 'DELIVER', 'DELIVER_CLASSES',
    'DELIVER_CONDITIONS', 'DomainSpec', 'GTA5', 'LayoutParams', 'Scene', 'Tree', 'camera_dict',
    'cityscapes_palette', 'cityscapes_stem', 'deliver_location', 'deliver_semantic',
    'deliver_style', 'deliver_value_lut', 'encode_depth_like', 'encode_disparity',
    'generate_toy_dataset', 'render_depth_like', 'render_rgb', 'sample_scene', 'sample_toy_scene'
]
