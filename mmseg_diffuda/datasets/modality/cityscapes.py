# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Cityscapes RGB as MADM's source, its 19 trainIds merged into a MADM class set."""
from typing import Dict, Optional, Sequence

from mmseg.datasets import CityscapesDataset
from mmseg.registry import DATASETS

from ..checks import DATASET_LAYOUTS, DataLayoutMixin
from .classes import (MADM_DEPTH_EVENT_METAINFO, MADM_INFRARED_METAINFO, cityscapes_label_map,
                      madm_palette)


class CityscapesMADMDataset(DataLayoutMixin, CityscapesDataset):
    """Cityscapes with the converted 19-trainId labels remapped to a MADM class set.

    MADM (Xia et al., NeurIPS 2024) trains on Cityscapes train with ``*_labelTrainIds.png`` and
    merges the 19 classes into the target's class set with its ``label_convert`` (official
    ``config_files/common/data/cityscapes_rgb_to_*_semseg.py``). Here the merge is mmseg's
    ``label_map``, built by name from
    :data:`~mmseg_diffuda.datasets.modality.classes.CITYSCAPES_TO_MADM` for the dataset's
    ``classes``; ``LoadSegLabel`` applies it when loading and ``UDADataset`` hands it to rare
    class sampling, which reads the 19-trainId statistics of the Cityscapes converter.

    Subclasses set ``METAINFO`` to a MADM class set. A ``metainfo=dict(classes=...)`` subset
    of it is also accepted (the other classes become 255, colours kept by name).

    Args:
        **kwargs: Arguments of :class:`mmseg.datasets.CityscapesDataset` (``data_root``,
            ``data_prefix``, ``pipeline``, ...).
    """

    LAYOUT = DATASET_LAYOUTS['CityscapesDataset']

    @classmethod
    def get_label_map(cls, new_classes: Optional[Sequence] = None) -> Dict[int, int]:
        """Return the Cityscapes trainId -> class id map of ``new_classes`` (or the METAINFO's).

        Args:
            new_classes (Sequence, optional): The dataset's classes from ``metainfo``.

        Returns:
            dict[int, int]: trainIds 0..18 -> class id or 255 (always a full map: the labels on
            disk are always the 19 trainIds).

        Raises:
            ValueError: If a class is not in the subclass's class set.
        """
        classes = tuple(new_classes) if new_classes is not None else cls.METAINFO['classes']
        unknown = [name for name in classes if name not in cls.METAINFO['classes']]
        if unknown:
            raise ValueError(f'{cls.__name__}: classes {unknown} are not in its class set '
                             f'{cls.METAINFO["classes"]}.')
        return cityscapes_label_map(classes)

    def _update_palette(self) -> list:
        """Return the MADM colour of each class (by name, so class subsets keep their colours).

        Returns:
            list[list[int]]: One ``[R, G, B]`` per class.
        """
        palette = self._metainfo.get('palette', [])
        classes = self._metainfo['classes']
        return palette if len(palette) == len(classes) else madm_palette(classes)


@DATASETS.register_module()
class CityscapesMADM11Dataset(CityscapesMADMDataset):
    """Cityscapes remapped to MADM's 11 depth/event classes (source of RGB -> depth / event).

    trainId -> class: road, sidewalk, building, wall, fence, pole kept; traffic light + sign ->
    traffic sign; vegetation + terrain -> vegetation; sky; person + rider -> person; car, truck,
    bus, train, motorcycle, bicycle -> car.
    """
    METAINFO = MADM_DEPTH_EVENT_METAINFO


@DATASETS.register_module()
class CityscapesMADM9Dataset(CityscapesMADMDataset):
    """Cityscapes remapped to MADM's 9 infrared classes (source of RGB -> infrared).

    As :class:`CityscapesMADM11Dataset`, with wall and fence ignored (255): FMB labels neither.
    """
    METAINFO = MADM_INFRARED_METAINFO
