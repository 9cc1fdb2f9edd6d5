# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Image and label loading that fails with a message naming the file and the fix."""
import os.path as osp
from typing import Optional

from mmcv.transforms import LoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

from ..checks import CONVERTER_HINT, check_label_ids, check_label_shape


@TRANSFORMS.register_module()
class LoadImage(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that names the file when it cannot be read.

    mmcv raises a bare ``AssertionError`` or the decoder's error for an empty, truncated or
    non-image file; this transform raises ``OSError`` (``FileNotFoundError`` for a missing file)
    naming the path. All arguments are those of ``LoadImageFromFile``.

    Required Keys:

    - img_path

    Modified Keys:

    - img
    - img_shape
    - ori_shape
    """

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image of ``results['img_path']``.

        Args:
            results (dict): Result dict from the dataset.

        Returns:
            dict, optional: ``results`` with the image, or None for an unreadable file when
            ``ignore_empty`` is set.
        """
        filename = results['img_path']
        try:
            return super().transform(results)
        except Exception as err:  # decoder errors come in many types; all mean "unreadable"
            if isinstance(filename, str) and not osp.exists(filename):
                raise FileNotFoundError(
                    f'image {filename!r} does not exist: check the dataset\'s data_root and '
                    'data_prefix, or re-extract the image archive.') from err
            raise OSError(
                f'cannot decode image {filename!r} ({type(err).__name__}: {err}): the file is '
                'empty, truncated or not an image; re-extract it from the dataset archive or '
                'remove it from the dataset.') from err


@TRANSFORMS.register_module()
class LoadSegLabel(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` that validates the label map it loads.

    Checks, each raising an error that names the file:

    - the label map exists (else: which converter writes it);
    - it is single-channel and has the size of the image as read from disk (``ori_shape``,
      so the check also holds when ``Resize`` ran before, as in full-resolution evaluation);
    - after ``label_map``/``reduce_zero_label`` every id is ``< num_classes`` or
      ``ignore_index`` ("wrong class count", e.g. a 19-class label fed to an 11-class dataset).

    Inference without labels: mmseg's ``inference_model`` and ``MMSegInferencer`` take the
    config's test pipeline and remove only mmseg's ``LoadAnnotations``; the samples they build
    have no ``seg_map_path``, and this transform then passes them through unchanged (as
    ``PackSegInputs`` packs no ``gt_sem_seg`` for them). Dataset samples always carry the key
    when the dataset has a label folder.

    Required Keys:

    - seg_map_path (optional: without it nothing is loaded, see above)
    - ori_shape (optional, set by ``LoadImage``; without it the size is not checked)

    Added Keys:

    - seg_fields
    - gt_seg_map (np.uint8)

    Args:
        num_classes (int): Number of classes of the dataset the labels belong to.
        ignore_index (int): The ignored label id. Defaults to 255.
        reduce_zero_label (bool, optional): See mmseg's ``LoadAnnotations``. Defaults to None.
        backend_args (dict, optional): See mmseg's ``LoadAnnotations``. Defaults to None.
        imdecode_backend (str): See mmseg's ``LoadAnnotations``. Defaults to 'pillow'.
    """

    def __init__(self,
                 num_classes: int,
                 ignore_index: int = 255,
                 reduce_zero_label: Optional[bool] = None,
                 backend_args: Optional[dict] = None,
                 imdecode_backend: str = 'pillow') -> None:
        super().__init__(
            reduce_zero_label=reduce_zero_label,
            backend_args=backend_args,
            imdecode_backend=imdecode_backend)
        if num_classes <= 0:
            raise ValueError(f'LoadSegLabel: num_classes must be positive, got {num_classes}.')
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        """Load and check the label map, or pass an unlabelled inference sample through.

        Args:
            results (dict): Result dict from the dataset or from mmseg's inference API.

        Returns:
            dict: ``results`` with ``gt_seg_map`` when it has a ``seg_map_path``.
        """
        if results.get('seg_map_path') is None:
            return results
        return super().transform(results)

    def _load_seg_map(self, results: dict) -> None:
        """Load ``results['seg_map_path']`` into ``results['gt_seg_map']`` and validate it.

        Args:
            results (dict): Result dict from the dataset.
        """
        path = results['seg_map_path']
        if isinstance(path, str) and self.backend_args is None and not osp.isfile(path):
            raise FileNotFoundError(f'label map {path!r} does not exist; {CONVERTER_HINT}.')
        try:
            super()._load_seg_map(results)
        except OSError as err:  # PIL's error for empty, truncated or non-image files
            raise OSError(
                f'cannot decode label map {path!r} ({type(err).__name__}: {err}); re-run the '
                f'converter for this dataset ({CONVERTER_HINT}).') from err
        label = results['gt_seg_map']
        if 'ori_shape' in results:
            check_label_shape(label, results['ori_shape'], path, results.get('img_path', '?'))
        check_label_ids(label, self.num_classes, self.ignore_index, path)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index}, reduce_zero_label={self.reduce_zero_label}, '
                f"imdecode_backend='{self.imdecode_backend}', backend_args={self.backend_args})")
