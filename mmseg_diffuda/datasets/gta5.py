# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""GTA5 (Richter et al., ECCV 2016) as a source domain with the 19 Cityscapes classes."""
from typing import Optional

from mmseg.datasets import BaseSegDataset, CityscapesDataset
from mmseg.registry import DATASETS

from .checks import DATASET_LAYOUTS, DataLayoutMixin


@DATASETS.register_module()
class GTA5Dataset(DataLayoutMixin, BaseSegDataset):
    """GTA5 "Playing for Data" with labels converted to Cityscapes trainIds.

    The GTA5 label PNGs hold Cityscapes *label ids*; ``tools/dataset_converters/gta5.py``
    writes ``labels/<name>_labelTrainIds.png`` (ids from ``cityscapesscripts``) and the rare
    class sampling statistics, as DAFormer's ``tools/convert_datasets/gta.py`` does
    (Hoyer et al., CVPR 2022). All 24,966 frames are used for training (no split).

    Layout below ``data_root``: ``images/<name>.png``, ``labels/<name>_labelTrainIds.png``.
    A missing directory, an empty image folder or missing converted labels raise an error
    naming the path, the download page and the converter command.

    Args:
        img_suffix (str): Suffix of the images. Defaults to '.png'.
        seg_map_suffix (str): Suffix of the trainId label maps.
            Defaults to '_labelTrainIds.png'.
        data_prefix (dict, optional): Image and label folders below ``data_root``.
            Defaults to ``dict(img_path='images', seg_map_path='labels')``.
        **kwargs: Further arguments of :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = CityscapesDataset.METAINFO
    LAYOUT = DATASET_LAYOUTS['GTA5Dataset']

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '_labelTrainIds.png',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix or dict(img_path='images', seg_map_path='labels'),
            **kwargs)
