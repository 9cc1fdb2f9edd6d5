# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Metric depth of Cityscapes-format images from their stereo disparity and camera files.

Cityscapes (Cordts et al., CVPR 2016) ships, next to every ``leftImg8bit`` frame, a 16-bit
disparity PNG (``disparity/<split>/<city>/<stem>_disparity.png``, SGM stereo) and a camera file
(``camera/<split>/<city>/<stem>_camera.json``). The official README (cityscapesScripts) defines
the encoding: for a pixel value ``p > 0`` the disparity is ``d = (p - 1) / 256`` pixels and
``p = 0`` is an invalid measurement. With the stereo baseline ``b`` (metres, ``extrinsic``) and
the focal length ``fx`` (pixels, ``intrinsic``) of the camera file, rectified stereo gives the
depth ``z = b * fx / d``. The toy generator (:mod:`mmseg_diffuda.toy.writers`,
``encode_disparity``) writes the same three files.
"""
import json
import os.path as osp
from pathlib import PurePath
from typing import Optional, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmseg.registry import TRANSFORMS

#: Where the Cityscapes disparity and camera archives come from (named in errors).
CITYSCAPES_DEPTH_HINT = (
    'download disparity_trainvaltest.zip and camera_trainvaltest.zip from '
    'https://www.cityscapes-dataset.com/downloads/ and extract them into the Cityscapes data '
    'root (next to leftImg8bit/), or regenerate the toy tree with tools/make_toy_data.py')


def disparity_to_depth(encoded: np.ndarray, baseline: float, fx: float) -> np.ndarray:
    """Decode a Cityscapes 16-bit disparity map into metric depth.

    ``d = (p - 1) / 256`` for ``p > 0`` and ``z = baseline * fx / d``. Invalid pixels get depth
    0 (mmseg's convention for a missing depth value): ``p = 0`` (no stereo match) and ``p = 1``
    (``d = 0``, a point at infinity, which has no finite depth).

    Args:
        encoded (np.ndarray): uint16 disparity PNG values (H, W).
        baseline (float): Stereo baseline in metres (> 0).
        fx (float): Horizontal focal length in pixels (> 0).

    Returns:
        np.ndarray: float32 depth in metres (H, W), 0 where invalid.
    """
    if baseline <= 0 or fx <= 0:
        raise ValueError(f'disparity_to_depth: baseline and fx must be positive, got '
                         f'baseline={baseline}, fx={fx}.')
    disparity = (encoded.astype(np.float64) - 1.0) / 256.0
    valid = encoded > 1
    depth = np.zeros(encoded.shape, dtype=np.float64)
    depth[valid] = baseline * fx / disparity[valid]
    return depth.astype(np.float32)


@TRANSFORMS.register_module()
class LoadDepthFromFile(BaseTransform):
    """Load the metric depth of a Cityscapes-format image as ``gt_depth_map``.

    The disparity and camera files are found from ``img_path`` by replacing the image folder
    (the last path component equal to ``img_dir``, e.g. ``leftImg8bit``) by ``disparity_dir``
    / ``camera_dir`` and the file suffix ``img_suffix`` by ``disparity_suffix`` /
    ``camera_suffix``; so the stock ``CityscapesDataset`` needs no change. The depth is decoded
    with :func:`disparity_to_depth` (metres, 0 = invalid).

    The map is stored as ``results['gt_depth_map']`` (float32, H x W) and added to
    ``seg_fields``, mmseg 1.x's convention for depth maps (``LoadDepthAnnotation``): mmseg's
    ``Resize`` (nearest neighbour, so invalid zeros are never blended into valid depths),
    ``RandomCrop`` and ``RandomFlip`` then move it with the image, and ``PackSegInputs`` packs it
    as ``data_sample.gt_depth_map``. Put this transform right after ``LoadImage``.

    Required Keys:

    - img_path
    - ori_shape (optional; when present the disparity must have this size)

    Added Keys:

    - gt_depth_map (np.float32, metres, 0 = invalid)
    - seg_fields

    Args:
        img_dir (str): Image folder name in ``img_path``. Defaults to 'leftImg8bit'.
        disparity_dir (str): Disparity folder name. Defaults to 'disparity'.
        camera_dir (str): Camera folder name. Defaults to 'camera'.
        img_suffix (str): Image file suffix. Defaults to '_leftImg8bit.png'.
        disparity_suffix (str): Disparity file suffix. Defaults to '_disparity.png'.
        camera_suffix (str): Camera file suffix. Defaults to '_camera.json'.
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None.
    """

    def __init__(self,
                 img_dir: str = 'leftImg8bit',
                 disparity_dir: str = 'disparity',
                 camera_dir: str = 'camera',
                 img_suffix: str = '_leftImg8bit.png',
                 disparity_suffix: str = '_disparity.png',
                 camera_suffix: str = '_camera.json',
                 backend_args: Optional[dict] = None) -> None:
        self.img_dir = img_dir
        self.disparity_dir = disparity_dir
        self.camera_dir = camera_dir
        self.img_suffix = img_suffix
        self.disparity_suffix = disparity_suffix
        self.camera_suffix = camera_suffix
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        """Load the depth of ``results['img_path']``.

        Args:
            results (dict): Result dict with ``img_path``.

        Returns:
            dict: ``results`` with ``gt_depth_map`` (also listed in ``seg_fields``).
        """
        disparity_path, camera_path = self.depth_paths(results['img_path'])
        encoded = self._read_disparity(disparity_path)
        if 'ori_shape' in results and encoded.shape != tuple(results['ori_shape'][:2]):
            raise ValueError(
                f'disparity {disparity_path!r} is {encoded.shape[1]}x{encoded.shape[0]} (WxH) '
                f'but its image {results["img_path"]!r} is {results["ori_shape"][1]}x'
                f'{results["ori_shape"][0]}; put LoadDepthFromFile before any Resize and check '
                'that both files belong to the same frame.')
        baseline, fx = self._read_camera(camera_path)
        results['gt_depth_map'] = disparity_to_depth(encoded, baseline, fx)
        results.setdefault('seg_fields', [])
        if 'gt_depth_map' not in results['seg_fields']:
            results['seg_fields'].append('gt_depth_map')
        return results

    def depth_paths(self, img_path: str) -> Tuple[str, str]:
        """The disparity and camera files of an image.

        Args:
            img_path (str): Path of the ``leftImg8bit`` image.

        Returns:
            tuple[str, str]: Disparity PNG and camera JSON paths.

        Raises:
            ValueError: If ``img_path`` has no ``img_dir`` folder or no ``img_suffix``.
        """
        parts = list(PurePath(img_path).parts)
        folders = [i for i, part in enumerate(parts[:-1]) if part == self.img_dir]
        if not folders or not parts[-1].endswith(self.img_suffix):
            raise ValueError(
                f'LoadDepthFromFile: cannot derive the disparity file of {img_path!r}: expected '
                f'a folder {self.img_dir!r} in the path and a file ending in '
                f'{self.img_suffix!r} (Cityscapes layout); set img_dir/img_suffix to match.')
        stem = parts[-1][:-len(self.img_suffix)]

        def sibling(folder: str, suffix: str) -> str:
            new = list(parts)
            new[folders[-1]] = folder
            new[-1] = stem + suffix
            return str(PurePath(*new))

        return (sibling(self.disparity_dir, self.disparity_suffix),
                sibling(self.camera_dir, self.camera_suffix))

    def _read_disparity(self, path: str) -> np.ndarray:
        """Read a 16-bit single-channel disparity PNG, with errors naming the file."""
        self._check_exists(path, 'disparity map')
        try:
            encoded = mmcv.imfrombytes(fileio.get(path, backend_args=self.backend_args),
                                       flag='unchanged', backend='cv2')
        except Exception as err:  # decoder errors come in many types; all mean "unreadable"
            raise OSError(f'cannot decode disparity map {path!r} ({type(err).__name__}: {err}); '
                          f're-extract it ({CITYSCAPES_DEPTH_HINT}).') from err
        if encoded is None or encoded.dtype != np.uint16 or encoded.ndim != 2:
            found = 'nothing' if encoded is None else f'{encoded.dtype} {encoded.shape}'
            raise ValueError(
                f'disparity map {path!r} must be a single-channel 16-bit PNG (Cityscapes '
                f'encoding p = 256 d + 1), found {found}; it is not a Cityscapes disparity file.')
        return encoded

    def _read_camera(self, path: str) -> Tuple[float, float]:
        """Read ``extrinsic.baseline`` and ``intrinsic.fx`` of a Cityscapes camera file."""
        self._check_exists(path, 'camera file')
        try:
            camera = json.loads(fileio.get_text(path, backend_args=self.backend_args))
            return float(camera['extrinsic']['baseline']), float(camera['intrinsic']['fx'])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f'camera file {path!r} must be Cityscapes JSON with extrinsic.baseline and '
                f'intrinsic.fx ({type(err).__name__}: {err}).') from err

    def _check_exists(self, path: str, what: str) -> None:
        """Raise ``FileNotFoundError`` for a missing local file, naming the download."""
        if self.backend_args is None and not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path!r} does not exist: {CITYSCAPES_DEPTH_HINT}.')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(img_dir={self.img_dir!r}, '
                f'disparity_dir={self.disparity_dir!r}, camera_dir={self.camera_dir!r}, '
                f'img_suffix={self.img_suffix!r}, disparity_suffix={self.disparity_suffix!r}, '
                f'camera_suffix={self.camera_suffix!r}, backend_args={self.backend_args})')
