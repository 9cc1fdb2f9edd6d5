"""Procedural street scenes for the toy dataset: semantic labels and metric depth by ray casting.

Scene model
-----------
A scene is a straight street seen by a forward-looking pinhole camera (frame and conventions in
:mod:`mmseg_diffuda.toy.geometry`, street layout and object frequencies in
:mod:`mmseg_diffuda.toy.layout`). Every pixel's ray is intersected with

* the flat ground (``height`` metres below the camera): a row ``v`` below the horizon row ``v0``
  meets it at camera depth ``fy * height / (v - v0)``, so the road, sidewalks and verges recede to a
  vanishing point; the street layout labels each ground point as road, sidewalk or terrain and marks
  lanes;
* vertical rectangles (facades, vegetation, walls, fences, vehicles, people, poles, signs, lights,
  trees), each carrying one Cityscapes class and a silhouette (:mod:`mmseg_diffuda.toy.shapes`);

and the nearest hit wins (a z-buffer). Rays that hit nothing see the sky, whose depth is infinite.
The result holds, per pixel, the Cityscapes label id, the camera depth in metres, an instance id, a
material part, the surface orientation and metric surface coordinates: everything the renderers need
to paint domain-specific appearance (:mod:`mmseg_diffuda.toy.render`) and the writers need to store
labels, disparity and depth (:mod:`mmseg_diffuda.toy.writers`). Labels, depth and image always come
from the same geometry, so they are consistent by construction.
"""
import math
from dataclasses import dataclass

import numpy as np

from .geometry import NEAR, Camera, Facing, Primitive
from .labels import ID
from .layout import (GROUND_INSTANCE, LayoutParams, Street, sample_camera, sample_primitives,
                     sample_street)
from .shapes import SHAPE_FUNCTIONS, Part

#: Depths are clipped to this range (metres); the sky stays at ``inf``.
MAX_DEPTH = 1000.0


@dataclass
class Scene:
    """Per-pixel description of one toy scene (all maps have shape (H, W)).

    Args:
        label (np.ndarray): uint8 Cityscapes label ids.
        depth (np.ndarray): float32 camera z-depth in metres, ``inf`` on the sky.
        instance (np.ndarray): int32 instance ids, -1 on the sky.
        part (np.ndarray): uint8 :class:`~mmseg_diffuda.toy.shapes.Part` of each pixel.
        facing (np.ndarray): uint8 :class:`~mmseg_diffuda.toy.geometry.Facing` of each pixel.
        surf_s (np.ndarray): float32 first metric surface coordinate (ground: world X; rectangles:
            metres along the rectangle).
        surf_t (np.ndarray): float32 second metric surface coordinate (ground: world Z; rectangles:
            height above the ground).
        lane_mark (np.ndarray): uint8 lane-marking code on the road (0 none, 1 white, 2 centre
            line).
        camera (Camera): The camera.
        footprints (np.ndarray): (N, 4) ground footprints ``(x0, x1, z0, z1)`` of vehicles and
            people.
        instance_labels (np.ndarray): uint8 label id of every instance id.
    """

    label: np.ndarray
    depth: np.ndarray
    instance: np.ndarray
    part: np.ndarray
    facing: np.ndarray
    surf_s: np.ndarray
    surf_t: np.ndarray
    lane_mark: np.ndarray
    camera: Camera
    footprints: np.ndarray
    instance_labels: np.ndarray


class Raster:
    """Z-buffered per-pixel maps filled by the ray caster (starts as all sky).

    Args:
        camera (Camera): The camera.
        height (int): Image height.
        width (int): Image width.
    """

    def __init__(self, camera: Camera, height: int, width: int) -> None:
        self.camera = camera
        self.dxw, self.dzw = camera.column_rays(width)
        self.dy = camera.row_rays(height)
        # columns parallel to a plane never meet it: inverse 0 gives t = 0, which fails t > NEAR
        with np.errstate(divide='ignore'):
            self.inv_dxw = np.where(self.dxw != 0, 1.0 / self.dxw, 0.0)
            self.inv_dzw = np.where(self.dzw != 0, 1.0 / self.dzw, 0.0)
        self.label = np.full((height, width), ID['sky'], dtype=np.uint8)
        self.depth = np.full((height, width), np.inf, dtype=np.float64)
        self.instance = np.full((height, width), -1, dtype=np.int32)
        self.part = np.zeros((height, width), dtype=np.uint8)
        self.facing = np.full((height, width), Facing.SKY, dtype=np.uint8)
        self.surf_s = np.zeros((height, width), dtype=np.float64)
        self.surf_t = np.zeros((height, width), dtype=np.float64)
        self.lane_mark = np.zeros((height, width), dtype=np.uint8)

    def cast_ground(self, street: Street) -> None:
        """Intersect every ray below the horizon with the ground plane and label the hit points."""
        rows = np.nonzero(self.dy > 1e-9)[0]
        if rows.size == 0:
            return
        t = self.camera.height / self.dy[rows][:, None]
        x, z = t * self.dxw[None, :], t * self.dzw[None, :]
        label, marks = street.classify(x, z)
        instance_lut = np.zeros(256, dtype=np.int32)
        for lab, inst in GROUND_INSTANCE.items():
            instance_lut[lab] = inst
        self.label[rows] = label
        self.lane_mark[rows] = marks
        self.depth[rows] = np.broadcast_to(t, x.shape)
        self.instance[rows] = instance_lut[label]
        self.facing[rows] = Facing.GROUND
        self.surf_s[rows], self.surf_t[rows] = x, z

    def _roi(self, prim: Primitive):
        """Pixel box (r0, r1, c0, c1) of a rectangle's projection.

        Returns None when the rectangle is off-screen or hidden behind nearer surfaces.
        """
        cam = self.camera
        cos, sin = math.cos(cam.yaw), math.sin(cam.yaw)
        (x0, z0), (x1, z1) = prim.ground_segment()
        zc0, zc1 = x0 * sin + z0 * cos, x1 * sin + z1 * cos
        if zc0 < NEAR and zc1 < NEAR:
            return None
        if zc0 < NEAR or zc1 < NEAR:  # clip the footprint at the near plane
            lam = (NEAR - zc0) / (zc1 - zc0)
            xm, zm = x0 + lam * (x1 - x0), z0 + lam * (z1 - z0)
            if zc0 < NEAR:
                x0, z0, zc0 = xm, zm, NEAR
            else:
                x1, z1, zc1 = xm, zm, NEAR
        us = [
            cam.u0 + cam.fx * (x * cos - z * sin) / zc
            for x, z, zc in ((x0, z0, zc0), (x1, z1, zc1))
        ]
        drops = (cam.height - prim.base - prim.height, cam.height - prim.base)
        vs = [cam.v0 + cam.fy * drop / zc for drop in drops for zc in (zc0, zc1)]
        height, width = self.label.shape
        c0, c1 = max(0, math.ceil(min(us))), min(width, math.floor(max(us)) + 1)
        r0, r1 = max(0, math.ceil(min(vs))), min(height, math.floor(max(vs)) + 1)
        if c0 >= c1 or r0 >= r1:
            return None
        if self.depth[r0:r1, c0:c1].max() < min(zc0, zc1):  # entirely behind nearer surfaces
            return None
        return r0, r1, c0, c1

    def cast_primitive(self, prim: Primitive) -> None:
        """Draw one vertical rectangle with its silhouette, keeping the nearest surface."""
        roi = self._roi(prim)
        if roi is None:
            return
        r0, r1, c0, c1 = roi
        depth = self.depth[r0:r1, c0:c1]
        if prim.lateral:
            t = prim.plane * self.inv_dxw[c0:c1]
            along = t * self.dzw[c0:c1] - prim.start
        else:
            t = prim.plane * self.inv_dzw[c0:c1]
            along = t * self.dxw[c0:c1] - prim.start
        # keep columns that meet the rectangle in front of the camera and are not hidden entirely
        columns_ok = (t > NEAR) & (along >= 0) & (along <= prim.length) & (t < depth.max(axis=0))
        if not columns_ok.any():
            return
        cols = np.nonzero(columns_ok)[0]
        t, along = t[cols], along[cols]
        up = self.camera.height - t[None, :] * self.dy[r0:r1, None] - prim.base
        s = prim.length - along if prim.mirror else along
        mask, part = SHAPE_FUNCTIONS[prim.shape](s[None, :], up, prim.length, prim.height,
                                                 prim.params)
        hit = (up >= 0) & (up <= prim.height) & mask & (t[None, :] < depth[:, cols])
        rr, cc = np.nonzero(hit)
        if rr.size == 0:
            return
        rows, columns = rr + r0, cols[cc] + c0
        self.depth[rows, columns] = t[cc]
        self.label[rows, columns] = prim.label
        self.instance[rows, columns] = prim.instance
        self.part[rows, columns] = part[rr, cc]
        self.facing[rows, columns] = prim.facing
        self.surf_s[rows, columns] = along[cc]
        self.surf_t[rows, columns] = up[rr, cc] + prim.base

    def draw_hood(self, rng: np.random.Generator, instance: int) -> None:
        """Bonnet of the recording car along the bottom edge (Cityscapes label ``ego vehicle``)."""
        height, width = self.label.shape
        extent = rng.uniform(0.06, 0.09) * height
        u = (np.arange(width) - self.camera.u0) / (width / 2)
        top = height - extent * (1.0 - 0.55 * u * u)
        rows = np.arange(height)[:, None]
        hood = rows >= top[None, :]
        drop = 0.3  # the bonnet lies about 0.3 m below the camera
        t = np.broadcast_to(drop / np.maximum(self.dy[:, None], 1e-3), hood.shape)
        self.label[hood] = ID['ego vehicle']
        self.depth[hood] = t[hood]
        self.instance[hood] = instance
        self.part[hood] = Part.BODY
        self.facing[hood] = Facing.GROUND
        self.lane_mark[hood] = 0


def sample_scene(rng: np.random.Generator, height: int, width: int, params: LayoutParams) -> Scene:
    """Draw one procedural street scene.

    Args:
        rng (np.random.Generator): Random generator; the scene is a pure function of its state.
        height (int): Image height in pixels.
        width (int): Image width in pixels.
        params (LayoutParams): Layout distribution of the domain.

    Returns:
        Scene: Labels, depth and surface maps of the scene.
    """
    camera = sample_camera(rng, height, width, params)
    street = sample_street(rng, params)
    primitives, footprints, num_instances = sample_primitives(rng, street, params)
    raster = Raster(camera, height, width)
    raster.cast_ground(street)
    for prim in primitives:
        raster.cast_primitive(prim)
    instance_labels = np.zeros(num_instances + 1, dtype=np.uint8)
    for lab, inst in GROUND_INSTANCE.items():
        instance_labels[inst] = lab
    for prim in primitives:
        instance_labels[prim.instance] = prim.label
    if params.ego_hood:
        raster.draw_hood(rng, num_instances)
        instance_labels[num_instances] = ID['ego vehicle']
    depth = np.where(np.isfinite(raster.depth), np.clip(raster.depth, NEAR, MAX_DEPTH), np.inf)
    return Scene(
        label=raster.label,
        depth=depth.astype(np.float32),
        instance=raster.instance,
        part=raster.part,
        facing=raster.facing,
        surf_s=raster.surf_s.astype(np.float32),
        surf_t=raster.surf_t.astype(np.float32),
        lane_mark=raster.lane_mark,
        camera=camera,
        footprints=footprints,
        instance_labels=instance_labels)
