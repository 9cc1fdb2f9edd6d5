"""Camera and scene primitives of the toy street scenes.

World frame: ``X`` to the right, ``Z`` forward along the street, heights measured up from the flat
ground; the camera sits at ``X = Z = 0`` at ``height`` metres, looks along its optical axis rotated
by ``yaw`` about the vertical axis, and its optical axis is parallel to the ground (the horizon is
the principal-point row ``v0``; camera pitch is expressed by where ``v0`` lies in the image). Pixel
``(i, j)`` is sampled at ``u = j``, ``v = i``.

Depth is the *camera z-depth* of the hit point (metres along the optical axis), which is what a
rectified stereo pair measures: disparity ``d = baseline * fx / depth``.

Everything except the ground is a vertical rectangle, either *lateral* (in a plane ``X = const``,
running along the street: facades, the side of a car) or *frontal* (in a plane ``Z = const``, facing
the camera: the back of a car, a person, a pole).
"""
from dataclasses import dataclass
from enum import IntEnum
from typing import Tuple

import numpy as np

from .shapes import Shape

#: Near clipping distance (metres): geometry closer than this along the optical axis is not drawn.
NEAR = 0.3


class Facing(IntEnum):
    """Orientation of the surface a pixel sees (drives lighting in the renderer)."""

    SKY = 0
    GROUND = 1
    LEFT = 2  # lateral surface left of the camera, facing +X (lit by a sun from the left)
    RIGHT = 3  # lateral surface right of the camera, facing -X
    FRONT = 4  # frontal surface facing the camera


@dataclass(frozen=True)
class Camera:
    """Pinhole camera of a toy scene (Cityscapes-like intrinsics and stereo baseline).

    Args:
        fx (float): Focal length in pixels (horizontal).
        fy (float): Focal length in pixels (vertical).
        u0 (float): Principal point column.
        v0 (float): Principal point row (= horizon row, the optical axis is horizontal).
        height (float): Camera height above the ground in metres.
        baseline (float): Stereo baseline in metres, used for the disparity maps.
        yaw (float): Rotation of the optical axis about the vertical axis (radians, + turns right).
    """

    fx: float
    fy: float
    u0: float
    v0: float
    height: float
    baseline: float
    yaw: float

    def column_rays(self, width: int) -> Tuple[np.ndarray, np.ndarray]:
        """World (X, Z) direction of each image column, scaled to unit camera depth.

        Args:
            width (int): Image width.

        Returns:
            tuple[np.ndarray, np.ndarray]: ``dxw``, ``dzw`` of shape (width,): the ray through
            column ``u`` reaches world ``(t * dxw, t * dzw)`` at camera depth ``t``.
        """
        dx = (np.arange(width, dtype=np.float64) - self.u0) / self.fx
        cos, sin = np.cos(self.yaw), np.sin(self.yaw)
        return dx * cos + sin, cos - dx * sin

    def row_rays(self, height: int) -> np.ndarray:
        """Downward slope of each image row: the ray through row ``v`` drops ``t * dy`` metres.

        Args:
            height (int): Image height.

        Returns:
            np.ndarray: Array of shape (height,).
        """
        return (np.arange(height, dtype=np.float64) - self.v0) / self.fy

    def camera_xz(self, x: np.ndarray, z: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Camera-frame lateral offset and depth of world points (inverse of the yaw rotation)."""
        cos, sin = np.cos(self.yaw), np.sin(self.yaw)
        return x * cos - z * sin, x * sin + z * cos

    def project(self, x: np.ndarray, z: np.ndarray,
                up: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Project world points (``up`` = height above ground) to pixel coordinates ``(u, v)``."""
        xc, zc = self.camera_xz(x, z)
        return self.u0 + self.fx * xc / zc, self.v0 + self.fy * (self.height - up) / zc


@dataclass(frozen=True)
class Primitive:
    """A vertical rectangle carrying one semantic class and a silhouette.

    Args:
        label (int): Cityscapes label id of the whole rectangle.
        shape (Shape): Silhouette drawn on the rectangle (see :mod:`mmseg_diffuda.toy.shapes`).
        lateral (bool): True: plane ``X = plane`` running along ``Z``; False: plane ``Z = plane``
            running along ``X``.
        plane (float): Coordinate of the plane (metres).
        start (float): Start of the rectangle along its running axis (metres).
        length (float): Extent along the running axis (metres).
        base (float): Height of the bottom edge above the ground (metres).
        height (float): Vertical extent (metres).
        instance (int): Instance id (appearance: one colour per instance).
        params (tuple): Extra parameters of the silhouette.
        mirror (bool): Draw the silhouette mirrored along the running axis.
    """

    label: int
    shape: Shape
    lateral: bool
    plane: float
    start: float
    length: float
    base: float
    height: float
    instance: int
    params: tuple = ()
    mirror: bool = False

    @property
    def facing(self) -> Facing:
        """Which way the visible side of the rectangle faces."""
        if not self.lateral:
            return Facing.FRONT
        return Facing.LEFT if self.plane < 0 else Facing.RIGHT

    def ground_segment(self) -> Tuple[Tuple[float, float], Tuple[float, float]]:
        """The rectangle's footprint as two world (X, Z) end points."""
        end = self.start + self.length
        if self.lateral:
            return (self.plane, self.start), (self.plane, end)
        return (self.start, self.plane), (end, self.plane)
