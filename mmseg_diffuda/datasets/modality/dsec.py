# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""DSEC events (Gehrig et al., RA-L 2021; DSEC-Semantic labels of Sun et al., ECCV 2022) as
MADM's event target, in the pre-rendered edge form that MADM's authors distribute."""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional

from mmseg.registry import DATASETS

from ..checks import DatasetLayout
from .base import ModalityDataset
from .classes import MADM_DEPTH_EVENT_METAINFO


@dataclass(frozen=True)
class DownloadedLabelsLayout(DatasetLayout):
    """A :class:`DatasetLayout` whose labels are used as downloaded (no converter)."""
    converter: str = ''

    def describe(self, data_root: Optional[str]) -> str:
        """Return the layout and download instructions as one message block."""
        return (f'{self.name} expects this layout below the data root:\n'
                f'{self.tree}\nDownload it from {self.download}; the labels are used as '
                'downloaded (no converter).')


DSEC_LAYOUT = DownloadedLabelsLayout(
    name='DSEC (MADM event edges)',
    tree=('  69mask_train_edges/<sequence>/<frame>.png               (training event edge '
          'images)\n'
          '  69mask_test_edges/<sequence>/<frame>.png                (test event edge images)\n'
          '  test_semantic_labels/<sequence>/11classes/<frame>.png   (DSEC-Semantic 11-class '
          'test labels)'),
    download=('the MADM README (https://github.com/XiaRho/MADM, "Preparing the Datasets": the '
              'training and testing events aggregated as edges, Google Drive) and '
              'https://dsec.ifi.uzh.ch/dsec-semantic/ (testing semantic labels)'))


@DATASETS.register_module()
class DSECEventDataset(ModalityDataset):
    """DSEC event edge images with DSEC-Semantic's 11-class labels, as MADM uses them.

    MADM's Cityscapes RGB -> DSEC event benchmark (Xia et al., NeurIPS 2024) does not process
    raw events: its authors distribute events aggregated into edge images (MADM README,
    "Preparing the Datasets"). Training uses 4,037 edge images of
    ``69mask_train_edges/<seq>/<frame>.png`` (every second frame of the training sequences in
    MADM's split list), testing the 2,806 images of ``69mask_test_edges/<seq>/<frame>.png``
    (zurich_city_13_a, 14_c, 15_a) with the DSEC-Semantic labels
    ``test_semantic_labels/<seq>/11classes/<frame>.png`` used as they are: their 11 classes are
    MADM's depth/event set (MADM names DSEC's class 0 'sky'; DSEC-Semantic calls it
    background). The layout is inferred from MADM's loader (official
    ``data/dataset/cross_modality_dataset.py`` and
    ``data/json_file/Cityscapes_RGB_to_DSEC_Event_{train,test}.json``). To reproduce MADM's
    training list exactly when the folder holds more frames, pass it as ``ann_file``
    (``<seq>/<frame>`` per line).

    Load the images with ``LoadModalityImage`` (single-channel edges are repeated to 3
    channels, as MADM does).

    Args:
        label_subdir (str): Folder of the label set inside each sequence folder. Defaults to
            '11classes' (DSEC-Semantic also ships '19classes', which MADM does not use).
        img_suffix (str): Image suffix. Defaults to '.png'.
        seg_map_suffix (str): Label suffix. Defaults to '.png'.
        data_prefix (dict, optional): Image and label folders below ``data_root``; without
            ``seg_map_path`` the set is unlabelled. Defaults to
            ``dict(img_path='69mask_test_edges', seg_map_path='test_semantic_labels')``.
        **kwargs: Further arguments of :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = MADM_DEPTH_EVENT_METAINFO
    LAYOUT = DSEC_LAYOUT

    def __init__(self,
                 label_subdir: str = '11classes',
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        self.label_subdir = label_subdir
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix or dict(img_path='69mask_test_edges',
                                            seg_map_path='test_semantic_labels'),
            **kwargs)

    def seg_map_path(self, seg_dir: str, image_stem: str) -> str:
        """Return ``<seg_dir>/<sequence>/<label_subdir>/<frame><seg_map_suffix>``.

        Args:
            seg_dir (str): The label folder.
            image_stem (str): ``<sequence>/<frame>`` of the image.

        Returns:
            str: The label path.
        """
        sequence, frame = osp.split(image_stem)
        return osp.join(seg_dir, sequence, self.label_subdir, frame + self.seg_map_suffix)

    def check_labels(self, data_list: List[dict], img_dirs: str) -> None:
        """Raise if no image was found or a label is missing, naming the download pages.

        Args:
            data_list (list[dict]): The listed data infos.
            img_dirs (str): The listed image folders (named in the error).
        """
        name = type(self).__name__
        if not data_list:
            raise FileNotFoundError(f'{name}: no images found in {img_dirs!r}.\n'
                                    f'{self.LAYOUT.describe(self.data_root)}')
        missing = [info['seg_map_path'] for info in data_list
                   if 'seg_map_path' in info and not osp.isfile(info['seg_map_path'])]
        if missing:
            raise FileNotFoundError(
                f'{name}: {len(missing)} of {len(data_list)} labels are missing, e.g. '
                f'{missing[0]!r}.\n{self.LAYOUT.describe(self.data_root)}')
