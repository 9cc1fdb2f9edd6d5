# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Listing and layout checks shared by the depth, infrared and event target datasets."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import mmengine
from mmengine import fileio
from mmseg.datasets import BaseSegDataset

from ..checks import DatasetLayout, check_converted_labels, check_data_dirs

#: One folder pair to list: the image folder and its label folder (None: unlabelled).
FolderPair = Tuple[str, Optional[str]]


class ModalityDataset(BaseSegDataset):
    """``BaseSegDataset`` for modality images whose labels are optional and checked.

    Differences to ``BaseSegDataset.load_data_list``:

    - without ``seg_map_path`` in ``data_prefix`` the set is unlabelled: no data info gets a
      ``seg_map_path`` (the target training sets of modality adaptation are unlabelled, and
      DSEC's training edges come without labels);
    - subclasses may list several folder pairs (:meth:`folder_pairs`, e.g. DELIVER's weather
      conditions) and place a label elsewhere than next to its image (:meth:`seg_map_path`);
    - ``ann_file`` lists image paths relative to ``data_prefix['img_path']`` without
      ``img_suffix``, one per line, to reproduce a published split exactly;
    - a missing folder, an empty image list or a missing label raise an error naming the
      path, the expected layout, the download page and the converter (``LAYOUT``).
    """
    LAYOUT: DatasetLayout

    def folder_pairs(self) -> List[FolderPair]:
        """Return the (image folder, label folder) pairs to list.

        Returns:
            list[tuple[str, str | None]]: Folders joined with the data root.
        """
        return [(self.data_prefix.get('img_path', ''), self.data_prefix.get('seg_map_path'))]

    def seg_map_path(self, seg_dir: str, image_stem: str) -> str:
        """Return the label path of an image.

        Args:
            seg_dir (str): The label folder of the image's folder pair.
            image_stem (str): The image path relative to its folder, without ``img_suffix``.

        Returns:
            str: The label path (``seg_dir/<image_stem><seg_map_suffix>``).
        """
        return osp.join(seg_dir, image_stem + self.seg_map_suffix)

    def load_data_list(self) -> List[dict]:
        """List the images (and labels) after checking the layout.

        Returns:
            list[dict]: One data info per image, sorted by image path.
        """
        name = type(self).__name__
        pairs = self._listing_pairs()
        check_data_dirs(name, self.LAYOUT, self.data_root,
                        [folder for pair in pairs for folder in pair if folder])
        data_list = []
        for img_dir, seg_dir in pairs:
            for stem in self._image_stems(img_dir):
                info = dict(img_path=osp.join(img_dir, stem + self.img_suffix),
                            label_map=self.label_map, reduce_zero_label=self.reduce_zero_label,
                            seg_fields=[])
                if seg_dir:
                    info['seg_map_path'] = self.seg_map_path(seg_dir, stem)
                data_list.append(info)
        data_list.sort(key=lambda info: info['img_path'])
        self.check_labels(data_list, ', '.join(img_dir for img_dir, _ in pairs))
        return data_list

    def check_labels(self, data_list: List[dict], img_dirs: str) -> None:
        """Raise if no image was found or a label is missing (see ``check_converted_labels``).

        Args:
            data_list (list[dict]): The listed data infos.
            img_dirs (str): The listed image folders (named in the error).
        """
        check_converted_labels(type(self).__name__, self.LAYOUT, self.data_root, data_list,
                               img_dirs)

    def _listing_pairs(self) -> List[FolderPair]:
        """The folder pairs to list: :meth:`folder_pairs`, or the prefixes with ``ann_file``."""
        if self.ann_file:
            return [(self.data_prefix.get('img_path', ''), self.data_prefix.get('seg_map_path'))]
        return self.folder_pairs()

    def _image_stems(self, img_dir: str) -> Sequence[str]:
        """Image paths relative to ``img_dir`` without suffix, from ``ann_file`` or listed."""
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(
                    f'{type(self).__name__}: ann_file {self.ann_file!r} does not exist; it lists '
                    f'image paths relative to {img_dir!r} without {self.img_suffix!r}, one per '
                    'line. Remove `ann_file` to use every image of the folder.')
            return [line.strip() for line in mmengine.list_from_file(self.ann_file)
                    if line.strip()]
        suffix_len = len(self.img_suffix)
        return [path[:-suffix_len] for path in fileio.list_dir_or_file(
            dir_path=img_dir, list_dir=False, suffix=self.img_suffix, recursive=True,
            backend_args=self.backend_args)]
