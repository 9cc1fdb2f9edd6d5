# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Loading of non-RGB modality images and MADM's fixed-size evaluation resize."""
from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform, Resize
from mmseg.registry import TRANSFORMS

from .loading import LoadImage


def to_three_channels(img: np.ndarray, path: str) -> np.ndarray:
    """Repeat a single-channel image to 3 channels and drop an alpha channel (MADM input).

    Args:
        img (np.ndarray): The decoded image.
        path (str): Its file (named in errors).

    Returns:
        np.ndarray: uint8 array of shape (H, W, 3).

    Raises:
        ValueError: For a non-8-bit image or an unexpected channel count.
    """
    if img.dtype != np.uint8:
        raise ValueError(
            f'modality image {path!r} is {img.dtype}: MADM reads 8-bit images (scaled by '
            '1/255); convert the file to 8 bits or check that it belongs to the dataset.')
    if img.ndim == 2:
        img = img[:, :, None]
    channels = img.shape[2] if img.ndim == 3 else None
    if channels == 1:
        return np.ascontiguousarray(np.repeat(img, 3, axis=2))
    if channels == 3:
        return img
    if channels == 4:
        return np.ascontiguousarray(img[:, :, :3])
    raise ValueError(f'modality image {path!r} has shape {img.shape}: expected 1, 3 or 4 '
                     'channels.')


@TRANSFORMS.register_module()
class LoadModalityImage(LoadImage):
    """Load a depth, infrared or event image as a 3-channel uint8 array.

    MADM (Xia et al., NeurIPS 2024) feeds every modality to an RGB network: a single-channel
    image is repeated to 3 channels and a 4th (alpha) channel is dropped (official
    ``data/dataset/cross_modality_dataset.py``, ``load_aug_data``; DELIVER's own loader does
    the same). The file is decoded unchanged, then:

    - (H, W) or (H, W, 1): repeated to (H, W, 3);
    - (H, W, 3): kept (OpenCV's BGR order, as ``LoadImage``);
    - (H, W, 4): alpha dropped.

    Only 8-bit images are accepted: MADM scales every input by 1/255, so a 16-bit depth map
    would not be read as the paper does; such a file raises an error naming it.

    Required Keys:

    - img_path

    Modified Keys:

    - img
    - img_shape
    - ori_shape

    Args:
        imdecode_backend (str): Decoder of ``mmcv.imfrombytes``. Defaults to 'cv2'.
        backend_args (dict, optional): File backend arguments. Defaults to None.
        ignore_empty (bool): Return None for a missing file instead of raising.
            Defaults to False.
    """

    def __init__(self,
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None,
                 ignore_empty: bool = False) -> None:
        super().__init__(
            to_float32=False,
            color_type='unchanged',
            imdecode_backend=imdecode_backend,
            ignore_empty=ignore_empty,
            backend_args=backend_args)

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` and make it 3-channel.

        Args:
            results (dict): Result dict from the dataset.

        Returns:
            dict, optional: ``results`` with the 3-channel image, or None for a missing file
            when ``ignore_empty`` is set.
        """
        results = super().transform(results)
        if results is not None:
            results['img'] = to_three_channels(results['img'], results['img_path'])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(imdecode_backend={self.imdecode_backend!r}, '
                f'ignore_empty={self.ignore_empty}, backend_args={self.backend_args})')


@TRANSFORMS.register_module()
class ToThreeChannels(BaseTransform):
    """Make a loaded modality image 3-channel uint8, as :class:`LoadModalityImage` does.

    For test pipelines that mmseg's inference API must understand: ``MMSegInferencer`` needs
    mmcv's ``LoadImageFromFile`` in the test pipeline (it swaps it for its own loader of
    files and arrays), so modality test pipelines load with
    ``dict(type='LoadImageFromFile', color_type='unchanged', imdecode_backend='cv2')`` and
    convert with this transform; the result equals :class:`LoadModalityImage`'s.

    Required Keys:

    - img
    - img_path (optional, named in errors)

    Modified Keys:

    - img
    """

    def transform(self, results: dict) -> dict:
        """Repeat a single-channel image to 3 channels, drop an alpha channel.

        Args:
            results (dict): Result dict with the loaded ``img``.

        Returns:
            dict: ``results`` with a (H, W, 3) uint8 ``img``.
        """
        results['img'] = to_three_channels(results['img'],
                                           results.get('img_path') or '<array>')
        return results


@TRANSFORMS.register_module()
class ResizeForEvaluation(Resize):
    """Resize image and label to a fixed size and evaluate there (MADM's test protocol).

    MADM (Xia et al., NeurIPS 2024) resizes the test image (bilinear) *and* its label
    (nearest) to 512x512 and computes mIoU on that grid (official
    ``data/dataset/cross_modality_dataset.py``, ``test_resize_h_w`` in
    ``config_files/common/data/cityscapes_rgb_to_*_semseg.py``). In mmseg the segmentor
    resizes its logits to ``ori_shape`` before ``IoUMetric`` compares them with
    ``gt_sem_seg``; this transform therefore also sets ``ori_shape`` to the new size, so
    prediction and label meet on the evaluation grid. A plain ``Resize`` would leave
    ``ori_shape`` at the file's size: the label would be resized but the prediction not.

    Put it after ``LoadSegLabel`` (which checks the label against the image as read from
    disk). For native-resolution scoring use ``Resize`` before ``LoadSegLabel`` instead.
    ``backend='pillow'`` reproduces MADM's PIL resizing (antialiased bilinear downscaling,
    PIL's nearest-neighbour sampling).

    Required Keys:

    - img
    - gt_seg_map (optional; required when ``seg_map_path`` is set)

    Modified Keys:

    - img
    - gt_seg_map
    - img_shape
    - ori_shape

    Added Keys:

    - scale
    - scale_factor
    - keep_ratio

    Args:
        scale (tuple[int, int]): Evaluation size (w, h). Defaults to (512, 512).
        backend (str): 'cv2' or 'pillow'. Defaults to 'pillow'.
        interpolation (str): Image interpolation (labels always use nearest).
            Defaults to 'bilinear'.
    """

    def __init__(self,
                 scale: Tuple[int, int] = (512, 512),
                 backend: str = 'pillow',
                 interpolation: str = 'bilinear') -> None:
        super().__init__(
            scale=scale, keep_ratio=False, backend=backend, interpolation=interpolation)

    def transform(self, results: dict) -> dict:
        """Resize image and label and make the new size the evaluation size.

        Args:
            results (dict): Result dict with the loaded image (and label).

        Returns:
            dict: ``results`` resized, with ``ori_shape == img_shape == scale[::-1]``.

        Raises:
            KeyError: If the sample has a label file that was not loaded yet.
        """
        if 'seg_map_path' in results and results.get('gt_seg_map') is None:
            raise KeyError(
                f'ResizeForEvaluation: the label {results["seg_map_path"]!r} is not loaded yet; '
                'put LoadSegLabel before ResizeForEvaluation so that the label is resized with '
                'the image (MADM evaluates both at the fixed size).')
        results = super().transform(results)
        results['ori_shape'] = results['img_shape']
        return results
