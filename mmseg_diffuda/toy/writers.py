"""On-disk formats of the toy dataset, reproducing the files of the real datasets.

* **GTA5** (Richter et al., "Playing for Data", ECCV 2016): ``images/<id>.png`` RGB frames and
  ``labels/<id>.png`` 8-bit palette ('P' mode) PNGs whose pixel values are Cityscapes label ids and
  whose palette is the Cityscapes colour table, as in the released GTA5 labels
  (:func:`write_gta_label`).
* **Cityscapes** (Cordts et al., CVPR 2016): ``*_leftImg8bit.png`` RGB frames,
  ``*_gtFine_labelIds.png`` 8-bit greyscale label ids, ``*_disparity.png`` 16-bit disparity with the
  Cityscapes encoding ``p = round(d * 256) + 1`` and ``p = 0`` for invalid pixels
  (:func:`encode_disparity`), and ``*_camera.json`` camera files with ``extrinsic`` (``baseline``,
  ``pitch``, ``roll``, ``x``, ``y``, ``yaw``, ``z``) and ``intrinsic`` (``fx``, ``fy``, ``u0``,
  ``v0``) entries (:func:`camera_dict`).
* **DELIVER** (Zhang et al., "Delivering Arbitrary-Modal Semantic Segmentation", CVPR 2023):
  ``*_rgb_front.png`` RGB frames, ``*_depth_front.png`` depth images (here single-channel 8-bit, see
  :func:`~mmseg_diffuda.toy.render.render_depth_like`) and ``*_semantic_front.png`` 3-channel label
  images with ``DELIVER class index + 1`` in the red channel and zeros in green and blue, as CARLA's
  raw semantic camera writes them (:func:`deliver_semantic`).

All PNGs are written with fixed encoder settings and no timestamps, so equal arrays give equal
bytes.
"""
import json
from pathlib import Path
from typing import Dict, Union

import cv2
import numpy as np
from PIL import Image

from .geometry import Camera
from .labels import DELIVER_CLASSES, ID, cityscapes_palette, deliver_value_lut

PathLike = Union[str, Path]

_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]


def _write_png(path: PathLike, array: np.ndarray) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), array, _PNG_PARAMS):
        raise OSError(f'Could not write {path}; check that the directory is writable.')


def write_rgb(path: PathLike, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image (H, W, 3) as a PNG.

    OpenCV stores BGR, so the channels are swapped here and the file holds true RGB.

    Args:
        path (PathLike): Output file.
        rgb (np.ndarray): Image in RGB order.
    """
    _write_png(path, np.ascontiguousarray(rgb[..., ::-1]))


def write_grey(path: PathLike, image: np.ndarray) -> None:
    """Write a single-channel uint8 or uint16 image as a greyscale PNG.

    Args:
        path (PathLike): Output file.
        image (np.ndarray): Array of shape (H, W).
    """
    _write_png(path, image)


def write_gta_label(path: PathLike, label_ids: np.ndarray) -> None:
    """Write a GTA5-style label: 'P'-mode PNG of Cityscapes label ids with the Cityscapes palette.

    Args:
        path (PathLike): Output file.
        label_ids (np.ndarray): uint8 label ids of shape (H, W).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.ascontiguousarray(label_ids, dtype=np.uint8))
    image.putpalette(cityscapes_palette().reshape(-1).tolist())
    image.save(path, format='PNG', compress_level=6)


def encode_disparity(depth: np.ndarray, baseline: float, fx: float) -> np.ndarray:
    """Cityscapes 16-bit disparity from depth: ``p = round(baseline * fx / depth * 256) + 1``.

    Pixels with infinite or non-positive depth (the sky) are invalid and get ``p = 0``; a reader
    recovers ``d = (p - 1) / 256`` for ``p > 0``.

    Args:
        depth (np.ndarray): Camera depth in metres.
        baseline (float): Stereo baseline in metres.
        fx (float): Focal length in pixels.

    Returns:
        np.ndarray: uint16 array of the same shape.
    """
    valid = np.isfinite(depth) & (depth > 0)
    disparity = np.zeros(depth.shape, dtype=np.float64)
    disparity[valid] = baseline * fx / depth[valid].astype(np.float64)
    encoded = np.where(valid, np.round(disparity * 256.0) + 1.0, 0.0)
    if encoded.max(initial=0) > np.iinfo(np.uint16).max:
        raise ValueError(
            f'Disparity up to {disparity.max():.1f} px does not fit the 16-bit Cityscapes '
            'encoding; geometry is too close to the camera.')
    return encoded.astype(np.uint16)


def camera_dict(camera: Camera) -> Dict[str, Dict[str, float]]:
    """Cityscapes camera-file content (``extrinsic`` + ``intrinsic``) of a toy camera.

    The toy optical axis is horizontal (pitch 0, the horizon is the principal-point row), the camera
    sits on the car's centre line (``y = 0``) at height ``z``; ``x`` is the mounting offset behind
    the front, set to Cityscapes' 1.7 m for completeness.

    Args:
        camera (Camera): The camera.

    Returns:
        dict: ``{'extrinsic': {...}, 'intrinsic': {...}}``.
    """
    return {
        'extrinsic': {
            'baseline': camera.baseline,
            'pitch': 0.0,
            'roll': 0.0,
            'x': 1.7,
            'y': 0.0,
            'yaw': camera.yaw,
            'z': camera.height,
        },
        'intrinsic': {
            'fx': camera.fx,
            'fy': camera.fy,
            'u0': camera.u0,
            'v0': camera.v0,
        },
    }


def write_camera_json(path: PathLike, camera: Camera) -> None:
    """Write a Cityscapes-format ``*_camera.json``.

    Args:
        path (PathLike): Output file.
        camera (Camera): The camera.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(camera_dict(camera), indent=4, sort_keys=True) + '\n')


def deliver_semantic(label_ids: np.ndarray, lane_mark: np.ndarray) -> np.ndarray:
    """DELIVER semantic image: ``DELIVER index + 1`` in the red channel (RGB order), 0 = unlabelled.

    Cityscapes ids are mapped with :data:`~mmseg_diffuda.toy.labels.CITYSCAPES_TO_DELIVER`; road
    pixels with a painted lane marking become ``RoadLine``.

    Args:
        label_ids (np.ndarray): uint8 Cityscapes label ids (H, W).
        lane_mark (np.ndarray): Lane-marking codes (H, W), non-zero on markings.

    Returns:
        np.ndarray: uint8 RGB array (H, W, 3) with G = B = 0.
    """
    values = deliver_value_lut()[label_ids]
    values[(label_ids == ID['road']) & (lane_mark > 0)] = DELIVER_CLASSES.index('RoadLine') + 1
    rgb = np.zeros(label_ids.shape + (3,), dtype=np.uint8)
    rgb[..., 0] = values
    return rgb
