# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Mapillary Vistas v1.2 (Neuhold et al., ICCV 2017) as a domain-generalisation target with the
19 Cityscapes classes."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmseg.datasets import BaseSegDataset, CityscapesDataset, MapillaryDataset_v1
from mmseg.registry import DATASETS

#: Mapillary v1.2 class (mmseg's ``MapillaryDataset_v1`` names, index = label id) -> Cityscapes
#: class; absent names are ignored (255). This is the mapping of the DG line of work evaluated
#: on Mapillary (openseg.pytorch's converter, reused by e.g. Rein, Wei et al., CVPR 2024,
#: ``tools/convert_datasets/mapillary2cityscape.py``): lane markings, bike and service lanes,
#: plain crosswalks and parking are road; curbs, curb cuts and pedestrian areas are sidewalk;
#: street lights and utility poles are pole; every traffic-sign part (front, back, frame) is
#: traffic sign; cyclists and other riders are rider; "On Rails" is train.
MAPILLARY_TO_CITYSCAPES: Dict[str, str] = {
    'Curb': 'sidewalk',
    'Fence': 'fence',
    'Wall': 'wall',
    'Bike Lane': 'road',
    'Crosswalk - Plain': 'road',
    'Curb Cut': 'sidewalk',
    'Parking': 'road',
    'Pedestrian Area': 'sidewalk',
    'Road': 'road',
    'Service Lane': 'road',
    'Sidewalk': 'sidewalk',
    'Building': 'building',
    'Person': 'person',
    'Bicyclist': 'rider',
    'Motorcyclist': 'rider',
    'Other Rider': 'rider',
    'Lane Marking - Crosswalk': 'road',
    'Lane Marking - General': 'road',
    'Sky': 'sky',
    'Terrain': 'terrain',
    'Vegetation': 'vegetation',
    'Street Light': 'pole',
    'Pole': 'pole',
    'Traffic Sign Frame': 'traffic sign',
    'Utility Pole': 'pole',
    'Traffic Light': 'traffic light',
    'Traffic Sign (Back)': 'traffic sign',
    'Traffic Sign (Front)': 'traffic sign',
    'Bicycle': 'bicycle',
    'Bus': 'bus',
    'Car': 'car',
    'Motorcycle': 'motorcycle',
    'On Rails': 'train',
    'Truck': 'truck',
}


def mapillary_to_cityscapes_ids(
        classes: Sequence[str] = CityscapesDataset.METAINFO['classes']) -> Dict[int, int]:
    """Mapillary v1.2 label id -> Cityscapes trainId for all 66 ids (255: ignored).

    Args:
        classes (Sequence[str]): The Cityscapes classes in trainId order.

    Returns:
        dict[int, int]: The id table.
    """
    return {
        label_id: (classes.index(MAPILLARY_TO_CITYSCAPES[name])
                   if name in MAPILLARY_TO_CITYSCAPES else 255)
        for label_id, name in enumerate(MapillaryDataset_v1.METAINFO['classes'])
    }


@DATASETS.register_module()
class MapillaryDataset(BaseSegDataset):
    """Mapillary Vistas v1.2 with its 66 classes read as the 19 Cityscapes classes.

    The raw v1.2 label PNGs (pixel value = Mapillary class id) are mapped to Cityscapes trainIds
    while loading, through mmseg's ``label_map`` (applied by ``LoadAnnotations`` /
    ``LoadSegLabel`` before their checks), with the table :data:`MAPILLARY_TO_CITYSCAPES`: no
    converted copy of the labels is needed. Used as an unseen target in domain generalisation
    (DIFF, Ji et al., ICASSP 2025, evaluates GTA5 -> Cityscapes / BDD100K / Mapillary; the
    official ``mmseg/datasets/mapillary.py`` reads pre-converted trainId files instead).

    Layout below ``data_root`` (as extracted from the v1.2 archive):
    ``validation/images/<key>.jpg`` and ``validation/v1.2/labels/<key>.png`` (same for
    ``training``).

    Args:
        img_suffix (str): Image suffix. Defaults to '.jpg'.
        seg_map_suffix (str): Label suffix. Defaults to '.png'.
        data_prefix (dict, optional): Folders below ``data_root``. Defaults to the validation
            split, ``dict(img_path='validation/images', seg_map_path='validation/v1.2/labels')``.
        **kwargs: Further arguments of :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = CityscapesDataset.METAINFO

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix or dict(
                img_path='validation/images', seg_map_path='validation/v1.2/labels'),
            **kwargs)

    @classmethod
    def get_label_map(cls, new_classes: Optional[Sequence] = None) -> Dict[int, int]:
        """The Mapillary id -> Cityscapes trainId table (the class set cannot be changed).

        Args:
            new_classes (Sequence, optional): Must be None or the 19 Cityscapes classes.

        Returns:
            dict[int, int]: The 66-entry table.
        """
        classes = cls.METAINFO['classes']
        if new_classes is not None and tuple(new_classes) != tuple(classes):
            raise ValueError(f'MapillaryDataset maps to the 19 Cityscapes classes; got '
                             f'metainfo classes {list(new_classes)}.')
        return mapillary_to_cityscapes_ids(classes)

    def load_data_list(self) -> List[dict]:
        """List image/label pairs after checking that both folders exist."""
        for key, folder in self.data_prefix.items():  # already joined with data_root
            if folder and not osp.isdir(folder):
                raise FileNotFoundError(
                    f'MapillaryDataset: {key} folder {folder!r} does not exist. Expected the v1.2 '
                    'archive of https://www.mapillary.com/dataset/vistas extracted under '
                    'data_root: validation/images/*.jpg and validation/v1.2/labels/*.png.')
        return super().load_data_list()
