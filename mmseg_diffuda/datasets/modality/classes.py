# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""The reduced class sets of MADM's modality-adaptation benchmarks and name-based label maps.

MADM (Xia et al., "Unsupervised Modality Adaptation with Text-to-Image Diffusion Models for
Semantic Segmentation", NeurIPS 2024) evaluates on the classes that Cityscapes and each target
modality share, with the class lists, palettes and id conversions of its official data configs
``config_files/common/data/cityscapes_rgb_to_*_semseg.py`` (``deliver_11_depth``,
``fmb_9_infrared``, ``dsec_event``):

- depth (DELIVER) and event (DSEC): 11 classes, :data:`MADM_DEPTH_EVENT_CLASSES`;
- infrared (FMB): 9 classes, :data:`MADM_INFRARED_CLASSES` (the 11 without wall and fence).

Every conversion here is written once, as a table from a dataset's class *names* to MADM class
names (:data:`CITYSCAPES_TO_MADM`, and the DELIVER / FMB tables in their dataset modules);
:func:`label_map_by_name` turns such a table into the id map for a given class set, so the
11-class and the 9-class maps come from the same table.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from cityscapesscripts.helpers.labels import name2label, trainId2label

IGNORE_INDEX = 255

#: MADM's depth/event class set, in MADM's order (official ``cityscapes_rgb_to_deliver_11_depth_
#: semseg.py`` and ``cityscapes_rgb_to_dsec_event_semseg.py``, ``stuff_classes``).
MADM_DEPTH_EVENT_CLASSES: Tuple[str, ...] = ('sky', 'building', 'fence', 'person', 'pole', 'road',
                                             'sidewalk', 'vegetation', 'car', 'wall',
                                             'traffic sign')
#: MADM's infrared class set, in MADM's order (official ``cityscapes_rgb_to_fmb_9_infrared_
#: semseg.py``, ``stuff_classes``): FMB labels no wall and no fence.
MADM_INFRARED_CLASSES: Tuple[str, ...] = ('sky', 'building', 'person', 'pole', 'road', 'sidewalk',
                                          'vegetation', 'car', 'traffic sign')

#: Cityscapes trainId class name -> MADM class name (the official ``label_convert`` of the
#: training sets, by name): traffic light joins traffic sign, terrain joins vegetation, rider
#: joins person and every vehicle joins car. In the 9-class infrared set wall and fence have no
#: class and become 255 (:func:`label_map_by_name` drops names outside the class set).
CITYSCAPES_TO_MADM: Dict[str, str] = {
    'road': 'road',
    'sidewalk': 'sidewalk',
    'building': 'building',
    'wall': 'wall',
    'fence': 'fence',
    'pole': 'pole',
    'traffic light': 'traffic sign',
    'traffic sign': 'traffic sign',
    'vegetation': 'vegetation',
    'terrain': 'vegetation',
    'sky': 'sky',
    'person': 'person',
    'rider': 'person',
    'car': 'car',
    'truck': 'car',
    'bus': 'car',
    'train': 'car',
    'motorcycle': 'car',
    'bicycle': 'car',
}

#: MADM colours each class with its Cityscapes colour, except the merged 'traffic sign', which
#: gets the Cityscapes *traffic light* colour (250, 170, 30) in the official palettes. The
#: palette matters beyond visualisation: MADM's label-palette latent regression encodes labels
#: coloured with it.
_PALETTE_COLOUR_OF = {'traffic sign': 'traffic light'}


def cityscapes_train_id_names() -> Tuple[str, ...]:
    """Return the 19 Cityscapes evaluation class names, indexed by trainId.

    Returns:
        tuple[str, ...]: Names from ``cityscapesscripts.helpers.labels`` for trainIds 0..18.
    """
    return tuple(trainId2label[train_id].name for train_id in range(19))


def madm_palette(classes: Sequence[str]) -> List[List[int]]:
    """Return MADM's RGB colour of each class.

    Args:
        classes (Sequence[str]): MADM class names.

    Returns:
        list[list[int]]: One ``[R, G, B]`` per class.
    """
    return [list(name2label[_PALETTE_COLOUR_OF.get(name, name)].color) for name in classes]


def madm_metainfo(classes: Sequence[str]) -> dict:
    """Return the ``METAINFO`` (classes and palette) of a MADM class set.

    Args:
        classes (Sequence[str]): MADM class names.

    Returns:
        dict: ``dict(classes=..., palette=...)`` for a ``BaseSegDataset``.
    """
    return dict(classes=tuple(classes), palette=madm_palette(classes))


#: ``METAINFO`` of the depth/event datasets and of the Cityscapes source remapped to them.
MADM_DEPTH_EVENT_METAINFO = madm_metainfo(MADM_DEPTH_EVENT_CLASSES)
#: ``METAINFO`` of the infrared dataset and of the Cityscapes source remapped to it.
MADM_INFRARED_METAINFO = madm_metainfo(MADM_INFRARED_CLASSES)


def label_map_by_name(source_classes: Sequence[str], to_madm: Mapping[str, Optional[str]],
                      classes: Sequence[str]) -> Dict[int, int]:
    """Build ``{source id: class id}`` from a name table.

    Args:
        source_classes (Sequence[str]): The source dataset's class names, indexed by id.
        to_madm (Mapping[str, str | None]): Source class name -> MADM class name, None for a
            class MADM ignores. It must list every source class.
        classes (Sequence[str]): The target class set; a MADM name outside it maps to 255.

    Returns:
        dict[int, int]: Every source id mapped to its index in ``classes`` or to 255.

    Raises:
        KeyError: If ``to_madm`` does not list a source class.
    """
    missing = [name for name in source_classes if name not in to_madm]
    if missing:
        raise KeyError(f'the class table has no entry for {missing}; every source class must '
                       'be mapped to a MADM class or to None (ignored).')
    label_map = {}
    for source_id, name in enumerate(source_classes):
        target = to_madm[name]
        label_map[source_id] = classes.index(target) if target in classes else IGNORE_INDEX
    return label_map


def cityscapes_label_map(classes: Sequence[str]) -> Dict[int, int]:
    """Return the Cityscapes trainId -> MADM id map of a class set.

    Args:
        classes (Sequence[str]): The class set, e.g. :data:`MADM_DEPTH_EVENT_CLASSES`.

    Returns:
        dict[int, int]: trainIds 0..18 -> index in ``classes`` or 255.
    """
    return label_map_by_name(cityscapes_train_id_names(), CITYSCAPES_TO_MADM, classes)
