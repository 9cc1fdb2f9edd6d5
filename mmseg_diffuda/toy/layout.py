"""Semantic layout of a toy street: where the road, sidewalks, buildings and objects are.

A street runs straight ahead along ``+Z`` (see :mod:`mmseg_diffuda.toy.geometry` for the frame). The
road has one or two lanes per direction (right-hand traffic: the camera drives in a right lane,
vehicles left of the centre line come towards it), optional parking strips, and a sidewalk on each
side. Beyond each sidewalk a sequence of *blocks* lines the street: buildings (sometimes set back
behind a grass or paved verge, a wall or a fence), vegetation masses and side streets that open a
view onto buildings further back. The street ends either at a cross street with a row of buildings
or, without one, at distant hills near the horizon.

Objects stand on the ground: moving and parked vehicles (cars, rare trucks and buses, motorcycles),
pedestrians, cyclists (``rider`` on a ``bicycle``), parked bicycles, poles (plain, street lamps,
sign poles, traffic-light poles) and trees. Their frequencies are set by :class:`LayoutParams`, so
that road, building, vegetation and sky cover most pixels while signs, lights, riders, buses and
trucks are rare, as in Cityscapes and GTA5, which makes rare-class sampling matter on the toy data
too.
"""
import itertools
from dataclasses import dataclass
from enum import IntEnum
from typing import Iterator, List, Tuple

import numpy as np

from .geometry import Camera, Primitive
from .labels import ID
from .shapes import Part, Shape

Range = Tuple[float, float]

#: Instance ids of the ground classes; objects get ids from ``FIRST_OBJECT_INSTANCE`` on.
GROUND_INSTANCE = {ID['road']: 0, ID['sidewalk']: 1, ID['terrain']: 2}
FIRST_OBJECT_INSTANCE = 3
#: (length, height, silhouette) of a bicycle (False) or motorcycle (True) seen from the side ...
SIDE_VIEW = {False: (1.75, 1.05, Shape.BIKE_SIDE), True: (2.0, 1.15, Shape.MOTO_SIDE)}
#: ... and (width, height, silhouette) seen from behind.
REAR_VIEW = {False: (0.6, 1.05, Shape.BIKE_REAR), True: (0.75, 1.2, Shape.MOTO_REAR)}


@dataclass(frozen=True)
class LayoutParams:
    """Distribution of toy street layouts for one domain.

    Ranges are ``(low, high)`` of uniform draws; ``*_rate`` are Poisson means per image; ``*_prob``
    are per-block or per-slot probabilities.

    Args:
        focal_per_width (float): fx / image width (Cityscapes: 2262.5 / 2048 = 1.105).
        camera_height (Range): Camera height (m); Cityscapes mounts it at 1.22 m.
        horizon (Range): Horizon row as a fraction of the image height.
        max_yaw (float): Largest camera yaw (radians).
        baseline (float): Stereo baseline (m), Cityscapes' is 0.209313 m.
        lane_width (Range): Lane width (m).
        two_lane_prob (float): Probability of two lanes per direction instead of one.
        parking_prob (float): Probability of a parking strip, per side.
        sidewalk_width (Range): Sidewalk width (m).
        block_length (Range): Length of a building block (m).
        building_height (Range): Building height (m).
        vegetation_block_prob (float): Probability that a block is a vegetation mass.
        side_street_prob (float): Probability that a block is a side street.
        setback_prob (float): Probability that a block stands behind a verge.
        terrain_verge_prob (float): Probability that a verge is grass (terrain) rather than paved.
        wall_prob (float): Probability of a wall along a set-back block.
        fence_prob (float): Probability of a fence along a set-back block.
        cross_street_prob (float): Probability that the street ends at a cross street with
            buildings.
        vehicle_fill (float): Probability that a lane slot holds a moving vehicle.
        vehicle_gap (Range): Gap between consecutive vehicles in a lane (m).
        parked_prob (float): Probability that a parking slot holds a parked vehicle.
        truck_prob (float): Probability that a vehicle is a truck.
        bus_prob (float): Probability that a moving vehicle is a bus.
        van_prob (float): Probability that a car is a tall van.
        person_rate (float): Mean number of pedestrians.
        rider_rate (float): Mean number of cyclists or motorcyclists.
        motorcycle_share (float): Share of riders on motorcycles rather than bicycles.
        bicycle_rate (float): Mean number of parked bicycles.
        pole_spacing (Range): Distance between poles along a curb (m).
        lamp_prob (float): Probability that a pole is a street lamp.
        sign_prob (float): Probability that a pole carries a traffic sign.
        light_prob (float): Probability that a pole carries a traffic light.
        tree_row_prob (float): Probability of a row of street trees, per side.
        ego_hood (bool): Draw the recording car's bonnet at the image bottom (Cityscapes ``ego
            vehicle``).
    """

    focal_per_width: float = 1.105
    camera_height: Range = (1.18, 1.26)
    horizon: Range = (0.40, 0.46)
    max_yaw: float = 0.05
    baseline: float = 0.209313
    lane_width: Range = (3.0, 3.6)
    two_lane_prob: float = 0.4
    parking_prob: float = 0.6
    sidewalk_width: Range = (2.0, 4.5)
    block_length: Range = (10.0, 30.0)
    building_height: Range = (8.0, 22.0)
    vegetation_block_prob: float = 0.25
    side_street_prob: float = 0.1
    setback_prob: float = 0.45
    terrain_verge_prob: float = 0.6
    wall_prob: float = 0.25
    fence_prob: float = 0.3
    cross_street_prob: float = 0.6
    vehicle_fill: float = 0.35
    vehicle_gap: Range = (4.0, 30.0)
    parked_prob: float = 0.45
    truck_prob: float = 0.03
    bus_prob: float = 0.02
    van_prob: float = 0.12
    person_rate: float = 3.0
    rider_rate: float = 0.3
    motorcycle_share: float = 0.2
    bicycle_rate: float = 0.3
    pole_spacing: Range = (12.0, 30.0)
    lamp_prob: float = 0.4
    sign_prob: float = 0.25
    light_prob: float = 0.15
    tree_row_prob: float = 0.45
    ego_hood: bool = False


class BlockKind(IntEnum):
    """What lines the street beyond the sidewalk over a stretch of ``Z``."""

    BUILDING = 0
    VEGETATION = 1
    SIDE_STREET = 2


@dataclass(frozen=True)
class Block:
    """A stretch ``[z0, z1)`` of one side of the street.

    Args:
        z0 (float): Start along the street (m).
        z1 (float): End along the street (m).
        kind (BlockKind): Building, vegetation or side street.
        setback (float): Distance from the sidewalk's outer edge to the facade (m).
        verge (int): Label id of the ground between sidewalk and facade (sidewalk, terrain, or road
            in a side street).
    """

    z0: float
    z1: float
    kind: BlockKind
    setback: float
    verge: int


@dataclass(frozen=True)
class Street:
    """Ground layout of a toy street.

    Args:
        centre (float): World X of the road's centre line (the camera is at X = 0).
        lane_width (float): Lane width (m).
        lanes (int): Lanes per direction.
        parking (tuple[bool, bool]): Parking strip on the (left, right) side.
        sidewalk (tuple[float, float]): Sidewalk widths (left, right).
        blocks (tuple): Blocks of the (left, right) side, ordered by ``z0``.
        cross_z (float): Z where a cross street starts (``inf`` when the street runs to the
            horizon).
        end_z (float): Z of the facades closing the street (``inf`` without a cross street).
        crosswalk_z (float): Z where a zebra crossing starts (``nan`` when there is none).
    """

    centre: float
    lane_width: float
    lanes: int
    parking: Tuple[bool, bool]
    sidewalk: Tuple[float, float]
    blocks: Tuple[Tuple[Block, ...], Tuple[Block, ...]]
    cross_z: float
    end_z: float
    crosswalk_z: float

    def half_width(self, side: int) -> float:
        """Distance from the centre line to the curb on ``side`` (0 left, 1 right)."""
        return self.lanes * self.lane_width + (2.2 if self.parking[side] else 0.0)

    def outer_edge(self, side: int) -> float:
        """Distance from the centre line to the sidewalk's outer edge on ``side``."""
        return self.half_width(side) + self.sidewalk[side]

    def classify(self, x: np.ndarray, z: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Ground class and lane markings at world points (vectorised).

        Args:
            x (np.ndarray): World X of ground points.
            z (np.ndarray): World Z of ground points.

        Returns:
            tuple[np.ndarray, np.ndarray]: Label ids (uint8) and lane-marking codes (uint8: 0 none,
            1 white lane/edge/crosswalk marking, 2 centre line).
        """
        rel = x - self.centre
        right = rel > 0
        dist = np.abs(rel)
        half = np.where(right, self.half_width(1), self.half_width(0))
        edge = np.where(right, self.outer_edge(1), self.outer_edge(0))
        verge = np.empty(x.shape, dtype=np.uint8)
        side_street = np.zeros(x.shape, dtype=bool)
        for side, is_side in ((0, ~right), (1, right)):
            blocks = self.blocks[side]
            idx = np.searchsorted(np.array([b.z0 for b in blocks]), z[is_side], side='right') - 1
            idx = np.clip(idx, 0, len(blocks) - 1)
            verge[is_side] = np.array([b.verge for b in blocks], dtype=np.uint8)[idx]
            side_street[is_side] = np.array([b.kind == BlockKind.SIDE_STREET for b in blocks])[idx]
        label = np.where(dist <= half, ID['road'], np.where(dist <= edge, ID['sidewalk'], verge))
        label = label.astype(np.uint8)
        label[side_street & (dist > half)] = ID['road']
        label[z >= self.cross_z] = ID['road']
        label[(z >= self.end_z - 3.0) & (z >= self.cross_z)] = ID['sidewalk']
        return label, self._markings(rel, dist, z)

    def _markings(self, rel: np.ndarray, dist: np.ndarray, z: np.ndarray) -> np.ndarray:
        lw, half_line = self.lane_width, 0.07
        carriageway = (dist <= self.lanes * lw + half_line) & (z > 0.5) & (z < self.cross_z)
        k = np.round(rel / lw)
        on_line = np.abs(rel - k * lw) < half_line
        dashed = (z % 9.0) < 3.5
        centre = on_line & (k == 0) & (dashed if self.lanes == 1 else True)
        lane = on_line & (np.abs(k) > 0) & (np.abs(k) < self.lanes) & dashed
        edge = np.abs(dist - self.lanes * lw) < half_line
        marks = np.zeros(rel.shape, dtype=np.uint8)
        marks[carriageway & (lane | edge)] = 1
        if np.isfinite(self.crosswalk_z):
            zebra = (z >= self.crosswalk_z) & (z < self.crosswalk_z + 3.5) & ((rel % 1.0) < 0.5)
            marks[carriageway & zebra] = 1
        marks[carriageway & centre] = 2
        return marks


def sample_camera(rng: np.random.Generator, height: int, width: int,
                  params: LayoutParams) -> Camera:
    """Draw the camera of one scene (values rounded so the camera file reproduces them exactly).

    Args:
        rng (np.random.Generator): Random generator of the scene.
        height (int): Image height.
        width (int): Image width.
        params (LayoutParams): Layout distribution.

    Returns:
        Camera: The camera.
    """
    focal = round(params.focal_per_width * width * rng.uniform(0.97, 1.03), 3)
    return Camera(
        fx=focal,
        fy=focal,
        u0=round((width - 1) / 2 + rng.uniform(-0.01, 0.01) * width, 3),
        v0=round(rng.uniform(*params.horizon) * height, 3),
        height=round(rng.uniform(*params.camera_height), 4),
        baseline=params.baseline,
        yaw=round(rng.uniform(-params.max_yaw, params.max_yaw), 5))


def _sample_blocks(rng: np.random.Generator, params: LayoutParams,
                   z_end: float) -> Tuple[Block, ...]:
    blocks: List[Block] = []
    z = -15.0
    while z < z_end:
        stretch = 1.0 + max(z, 0.0) / 80.0  # far blocks are longer: they are small in the image
        previous_gap = bool(blocks) and blocks[-1].kind == BlockKind.SIDE_STREET
        if z > 8 and not previous_gap and rng.random() < params.side_street_prob:
            kind, length = BlockKind.SIDE_STREET, rng.uniform(9.0, 15.0)
        elif rng.random() < params.vegetation_block_prob:
            kind, length = BlockKind.VEGETATION, rng.uniform(10.0, 35.0) * stretch
        else:
            kind, length = BlockKind.BUILDING, rng.uniform(*params.block_length) * stretch
        setback = rng.uniform(1.5, 6.0) if rng.random() < params.setback_prob else 0.0
        if kind == BlockKind.SIDE_STREET:
            verge = ID['road']
        elif kind == BlockKind.VEGETATION or rng.random() < params.terrain_verge_prob:
            verge = ID['terrain']
        else:
            verge = ID['sidewalk']
        blocks.append(Block(z, min(z + length, z_end), kind, setback, verge))
        z += length
    return tuple(blocks)


def sample_street(rng: np.random.Generator, params: LayoutParams) -> Street:
    """Draw the ground layout of one scene.

    Args:
        rng (np.random.Generator): Random generator of the scene.
        params (LayoutParams): Layout distribution.

    Returns:
        Street: The street.
    """
    lane_width = rng.uniform(*params.lane_width)
    lanes = 2 if rng.random() < params.two_lane_prob else 1
    own_lane = int(rng.integers(lanes))
    centre = -(own_lane + 0.5) * lane_width + rng.uniform(-0.3, 0.3)
    parking = (bool(rng.random() < params.parking_prob), bool(rng.random() < params.parking_prob))
    sidewalk = (rng.uniform(*params.sidewalk_width), rng.uniform(*params.sidewalk_width))
    if rng.random() < params.cross_street_prob:
        cross_z = rng.uniform(45.0, 180.0)
        end_z = cross_z + rng.uniform(10.0, 16.0)
    else:
        cross_z = end_z = np.inf
    blocks_end = cross_z if np.isfinite(cross_z) else 450.0
    blocks = (_sample_blocks(rng, params, blocks_end), _sample_blocks(rng, params, blocks_end))
    crosswalk_z = rng.uniform(8.0, 40.0) if rng.random() < 0.25 else np.nan
    return Street(centre, lane_width, lanes, parking, sidewalk, blocks, cross_z, end_z, crosswalk_z)


class _ObjectSampler:
    """Turns a street and layout parameters into the list of primitives of one scene."""

    def __init__(self, rng: np.random.Generator, street: Street, params: LayoutParams) -> None:
        self.rng = rng
        self.street = street
        self.params = params
        self.primitives: List[Primitive] = []
        self.footprints: List[Tuple[float, float, float, float]] = []
        self._ids: Iterator[int] = itertools.count(FIRST_OBJECT_INSTANCE)

    # ---------------------------------------------------------------- helpers
    def _add(self, label: str, shape: Shape, lateral: bool, plane: float, start: float,
             length: float, height: float, instance: int, params: tuple = (), base: float = 0.0,
             mirror: bool = False) -> None:
        self.primitives.append(
            Primitive(ID[label], shape, lateral, float(plane), float(start), float(length),
                      float(base), float(height), instance, tuple(params), mirror))

    def _side_x(self, side: int, offset: float) -> float:
        """World X at ``offset`` metres from the centre line on ``side`` (0 left, 1 right)."""
        return self.street.centre + (offset if side else -offset)

    def _limit_z(self, z_max: float) -> float:
        return min(z_max, self.street.cross_z - 2.0)

    # ---------------------------------------------------------------- blocks
    def facade_params(self) -> tuple:
        """Window grid of a facade (see :func:`~mmseg_diffuda.toy.shapes.facade`)."""
        u = self.rng.uniform
        return (u(2.8, 3.6), u(2.2, 3.6), u(0.35, 0.6), u(3.6, 4.6), u(0.35, 0.55))

    def hedge_params(self, low_freq: Range = (0.25, 0.9)) -> tuple:
        """Wavy top edge of a vegetation mass (see :func:`~mmseg_diffuda.toy.shapes.hedge`)."""
        u = self.rng.uniform
        return (u(0, 2 * np.pi), u(0, 2 * np.pi), u(*low_freq), u(1.5, 3.0) * low_freq[1],
                u(0.2, 0.5))

    def add_blocks(self) -> None:
        """Facades, vegetation masses, side-street back buildings, walls and fences."""
        u = self.rng.uniform
        for side in (0, 1):
            edge = self.street.outer_edge(side)
            sign = 1.0 if side else -1.0
            for block in self.street.blocks[side]:
                x = self._side_x(side, edge + block.setback)
                length = block.z1 - block.z0
                if block.kind == BlockKind.BUILDING:
                    height, inst = u(*self.params.building_height), next(self._ids)
                    fparams = self.facade_params()
                    self._add('building', Shape.FACADE, True, x, block.z0, length, height, inst,
                              fparams)
                    if block.z0 > 1.0:  # near end wall, visible past a lower or set-back neighbour
                        self._add('building', Shape.FACADE, False, block.z0,
                                  min(x, x + sign * 18.0), 18.0, height, inst, fparams)
                elif block.kind == BlockKind.VEGETATION:
                    self._add('vegetation', Shape.HEDGE, True, x + sign * u(0.0, 3.0), block.z0,
                              length, u(2.5, 11.0), next(self._ids), self.hedge_params())
                else:
                    back = self._side_x(side, edge + u(14.0, 30.0))
                    self._add('building', Shape.FACADE, True, back, block.z0 - 15.0, length + 30.0,
                              u(*self.params.building_height), next(self._ids),
                              self.facade_params())
                if block.setback >= 1.0 and block.kind != BlockKind.SIDE_STREET:
                    self._add_boundary(side, block)
                    if block.verge == ID['terrain'] and self.rng.random() < 0.5:
                        self._add_tree(side, edge + block.setback / 2, u(block.z0, block.z1))

    def _add_boundary(self, side: int, block: Block) -> None:
        u, x = self.rng.uniform, self._side_x(side, self.street.outer_edge(side) + 0.05)
        r = self.rng.random()
        if r < self.params.wall_prob:
            self._add('wall', Shape.WALL, True, x, block.z0, block.z1 - block.z0, u(0.8, 2.2),
                      next(self._ids))
        elif r < self.params.wall_prob + self.params.fence_prob:
            self._add('fence', Shape.FENCE, True, x, block.z0, block.z1 - block.z0, u(0.9, 1.8),
                      next(self._ids), (u(1.5, 2.6),))

    def add_street_end(self) -> None:
        """Facades across a cross street, or distant hills when the street runs to the horizon."""
        u = self.rng.uniform
        if np.isfinite(self.street.end_z):
            x = self.street.centre - 150.0
            while x < self.street.centre + 150.0:
                width = u(8.0, 26.0)
                z = self.street.end_z + u(0.0, 4.0)
                if self.rng.random() < 0.2:
                    self._add('vegetation', Shape.HEDGE, False, z, x, width, u(4.0, 12.0),
                              next(self._ids), self.hedge_params())
                else:
                    self._add('building', Shape.FACADE, False, z, x, width,
                              u(*self.params.building_height), next(self._ids),
                              self.facade_params())
                x += width
        else:
            self._add('vegetation', Shape.HEDGE, False, 900.0, -3000.0, 6000.0, u(30.0, 70.0),
                      next(self._ids), self.hedge_params((0.004, 0.02)))

    # ---------------------------------------------------------------- vehicles
    def _vehicle(self, x: float, z: float, oncoming: bool, kind: str) -> None:
        u, inst = self.rng.uniform, next(self._ids)
        lamp = Part.LAMP_WHITE if oncoming else Part.LAMP_RED
        if kind == 'bus':
            w, h, length = 2.55, u(3.0, 3.3), u(11.0, 13.0)
            end, side, end_params, side_params = Shape.BUS_END, Shape.BUS_SIDE, (lamp,), ()
        elif kind == 'truck':
            w, h, length = 2.45, u(3.1, 3.8), u(7.0, 10.0)
            end, side = Shape.TRUCK_END, Shape.TRUCK_SIDE
            end_params, side_params = (oncoming, lamp), (not oncoming,)
        else:
            van = self.rng.random() < self.params.van_prob
            w, h = u(1.7, 1.95), (u(1.9, 2.2) if van else u(1.4, 1.6))
            length = u(4.6, 5.3) if van else u(3.9, 4.8)
            end, side, end_params, side_params = Shape.CAR_END, Shape.CAR_SIDE, (lamp,), ()
            kind = 'car'
        self._add(kind, end, False, z, x - w / 2, w, h, inst, end_params)
        for face_x in (x - w / 2, x + w / 2):
            if (face_x > 0) == (x > 0) and abs(face_x) < abs(x):  # the side facing the camera
                self._add(kind, side, True, face_x, z, length, h, inst, side_params,
                          mirror=oncoming)
        self.footprints.append((x - w / 2, x + w / 2, z, z + length))

    def _vehicle_kind(self, moving: bool) -> str:
        r = self.rng.random()
        if moving and r < self.params.bus_prob:
            return 'bus'
        if r < self.params.bus_prob + self.params.truck_prob:
            return 'truck'
        return 'car'

    def add_vehicles(self) -> None:
        """Moving vehicles in every lane and parked vehicles on the parking strips."""
        st, u = self.street, self.rng.uniform
        for j in range(st.lanes):
            for oncoming in (False, True):
                x = st.centre + (-(j + 0.5) if oncoming else (j + 0.5)) * st.lane_width
                own_lane = abs(x) < st.lane_width / 2
                z = u(9.0, 20.0) if own_lane else u(2.0, 14.0)
                while z < self._limit_z(110.0):
                    kind = self._vehicle_kind(moving=True)
                    if self.rng.random() < self.params.vehicle_fill:
                        self._vehicle(x + u(-0.3, 0.3), z, oncoming, kind)
                    z += 13.0 + u(*self.params.vehicle_gap)
        for side in (0, 1):
            if not st.parking[side]:
                continue
            x, z = self._side_x(side, st.lanes * st.lane_width + 1.1), u(1.0, 8.0)
            while z < self._limit_z(80.0):
                if self.rng.random() < self.params.parked_prob:
                    self._vehicle(x + u(-0.15, 0.15), z, side == 0,
                                  self._vehicle_kind(moving=False))
                z += 5.5 + u(0.5, 3.0)

    # ---------------------------------------------------------------- people and two-wheelers
    def _person(self, x: float, z: float) -> None:
        h = self.rng.uniform(1.55, 1.95)
        w = 0.6 * h / 1.75
        self._add('person', Shape.PERSON, False, z, x - w / 2, w, h, next(self._ids),
                  (self.rng.uniform(0.0, 0.15),))
        self.footprints.append((x - 0.25, x + 0.25, z, z + 0.3))

    def add_people(self) -> None:
        """Pedestrians (on sidewalks, a few crossing the road) and cyclists/motorcyclists."""
        st, u = self.street, self.rng.uniform
        for _ in range(self.rng.poisson(self.params.person_rate)):
            if self.rng.random() < 0.12:
                zc = st.crosswalk_z if np.isfinite(st.crosswalk_z) else u(8.0, 35.0)
                x, z = st.centre + u(-1.0, 1.0) * st.half_width(1), zc + u(0.5, 3.0)
            else:
                side = int(self.rng.integers(2))
                x = self._side_x(side,
                                 st.half_width(side) + u(0.4, max(0.6, st.sidewalk[side] - 0.3)))
                z = self._near_biased(3.5, 45.0)
            if z < self._limit_z(60.0):
                self._person(x, z)
                if self.rng.random() < 0.3:  # a companion walking alongside
                    self._person(x + u(0.55, 0.75) * (1 if x > st.centre else -1), z + u(-0.3, 0.3))
        for _ in range(self.rng.poisson(self.params.rider_rate)):
            self._rider(motorcycle=self.rng.random() < self.params.motorcycle_share)
        for _ in range(self.rng.poisson(self.params.bicycle_rate)):
            self._parked_two_wheeler(motorcycle=self.rng.random() < self.params.motorcycle_share)

    def _near_biased(self, low: float, high: float) -> float:
        """Distance in [low, high], denser near the camera (people are mostly seen close by)."""
        return low + (high - low) * self.rng.random()**1.6

    def _parked_two_wheeler(self, motorcycle: bool) -> None:
        """A bicycle or motorcycle parked on the sidewalk, along the curb or across it."""
        st = self.street
        side = int(self.rng.integers(2))
        z = self._near_biased(4.0, 40.0)
        if z >= self._limit_z(60.0):
            return
        label = 'motorcycle' if motorcycle else 'bicycle'
        length, h, shape = SIDE_VIEW[motorcycle]
        mirror = bool(self.rng.random() < 0.5)
        if self.rng.random() < 0.5:  # along the curb
            x = self._side_x(side, st.outer_edge(side) - 0.5)
            self._add(label, shape, True, x, z, length, h, next(self._ids), mirror=mirror)
        else:  # across the sidewalk
            start = self._side_x(side, st.half_width(side) + 0.3 + (0.0 if side else length))
            self._add(label, shape, False, z, start, length, h, next(self._ids), mirror=mirror)

    def _rider(self, motorcycle: bool) -> None:
        st, u = self.street, self.rng.uniform
        vehicle = 'motorcycle' if motorcycle else 'bicycle'
        if self.rng.random() < 0.6:  # riding ahead near the right curb, seen from behind
            x = st.centre + st.lanes * st.lane_width - u(0.6, 1.2)
            z = self._near_biased(5.0, 45.0)
            if z >= self._limit_z(60.0):
                return
            w, h, shape = REAR_VIEW[motorcycle]
            self._add(vehicle, shape, False, z, x - w / 2, w, h, next(self._ids))
            self._add('rider', Shape.RIDER_REAR, False, z - 0.15, x - 0.31, 0.62,
                      1.72 + 0.1 * motorcycle, next(self._ids))
            self.footprints.append((x - 0.3, x + 0.3, z, z + 1.8))
        else:  # crossing the street, seen from the side
            x0, z = st.centre + u(-1.0, 0.7) * st.half_width(1), self._near_biased(5.0, 40.0)
            if z >= self._limit_z(60.0):
                return
            mirror = bool(self.rng.random() < 0.5)
            length, h, shape = SIDE_VIEW[motorcycle]
            self._add(vehicle, shape, False, z, x0, length, h, next(self._ids), mirror=mirror)
            self._add('rider', Shape.RIDER_SIDE, False, z - 0.1, x0, length, 1.75, next(self._ids),
                      mirror=mirror)
            self.footprints.append((x0, x0 + length, z - 0.3, z + 0.3))

    # ---------------------------------------------------------------- street furniture and trees
    def _add_tree(self, side: int, offset: float, z: float) -> None:
        u = self.rng.uniform
        radius = u(1.4, 2.8)
        height = max(u(5.0, 10.0), 2.2 * radius + 1.8)
        x = self._side_x(side, offset)
        self._add('vegetation', Shape.TREE, False, z, x - 1.3 * radius, 2.6 * radius, height,
                  next(self._ids), (u(0.25, 0.45), radius, u(0, 6.3), u(0, 6.3), u(0, 6.3)))

    def add_trees(self) -> None:
        """Rows of street trees on the sidewalks."""
        st, u = self.street, self.rng.uniform
        for side in (0, 1):
            if self.rng.random() >= self.params.tree_row_prob:
                continue
            inset = 0.8 if st.sidewalk[side] > 2.5 else st.sidewalk[side] / 2
            offset = st.outer_edge(side) - inset
            z = u(3.0, 12.0)
            while z < self._limit_z(100.0):
                self._add_tree(side, offset, z)
                z += u(7.0, 14.0)

    def add_poles(self) -> None:
        """Poles along both curbs: street lamps, sign poles, traffic-light poles and plain poles."""
        st, u, p = self.street, self.rng.uniform, self.params
        for side in (0, 1):
            x = self._side_x(side, st.half_width(side) + 0.45)
            z = u(2.0, 16.0)
            while z < self._limit_z(110.0):
                r = self.rng.random()
                width = u(0.14, 0.25)
                if r < p.lamp_prob:
                    arm = u(1.2, 2.5)
                    start = x - width / 2 if side == 0 else x - width / 2 - arm
                    self._add('pole', Shape.POLE, False, z, start, width + arm, u(6.5, 9.0),
                              next(self._ids), (width, side == 0))
                elif r < p.lamp_prob + p.sign_prob:
                    self._sign_pole(x, z, width)
                elif r < p.lamp_prob + p.sign_prob + p.light_prob:
                    self._light_pole(x, z, width, side)
                else:
                    self._add('pole', Shape.POLE, False, z, x - width / 2, width, u(3.0, 6.0),
                              next(self._ids), (width, True))
                z += u(*p.pole_spacing)

    def _sign_pole(self, x: float, z: float, width: float) -> None:
        u = self.rng.uniform
        pole_h = u(2.6, 3.5)
        self._add('pole', Shape.POLE, False, z, x - width / 2, width, pole_h, next(self._ids),
                  (width, True))
        top = pole_h
        for _ in range(1 + int(self.rng.random() < 0.3)):
            size = u(0.6, 0.9)
            form = int(self.rng.integers(5))
            plate_h = size * (0.7 if form == 4 else 1.0)
            self._add('traffic sign', Shape.SIGN, False, z - 0.06, x - size / 2, size, plate_h,
                      next(self._ids), (form,), base=top - plate_h)
            top -= plate_h + 0.1

    def _light_pole(self, x: float, z: float, width: float, side: int) -> None:
        u = self.rng.uniform
        pole_h = u(3.0, 4.2)
        self._add('pole', Shape.POLE, False, z, x - width / 2, width, pole_h, next(self._ids),
                  (width, True))
        offset = 0.22 if side == 0 else -0.55
        self._add('traffic light', Shape.LIGHT, False, z - 0.06, x + offset, 0.33, 0.9,
                  next(self._ids), (int(self.rng.integers(3)),), base=pole_h - 1.0)


def sample_primitives(rng: np.random.Generator, street: Street,
                      params: LayoutParams) -> Tuple[List[Primitive], np.ndarray, int]:
    """Draw every object of one scene.

    Args:
        rng (np.random.Generator): Random generator of the scene.
        street (Street): The street the objects stand in.
        params (LayoutParams): Layout distribution.

    Returns:
        tuple: The primitives, the ground footprints ``(x0, x1, z0, z1)`` of vehicles and people as
        an array of shape (N, 4) (for shadows), and the number of instance ids used.
    """
    sampler = _ObjectSampler(rng, street, params)
    sampler.add_blocks()
    sampler.add_street_end()
    sampler.add_vehicles()
    sampler.add_people()
    sampler.add_trees()
    sampler.add_poles()
    footprints = np.array(sampler.footprints, dtype=np.float64).reshape(-1, 4)
    num_instances = max([FIRST_OBJECT_INSTANCE] + [p.instance + 1 for p in sampler.primitives])
    return sampler.primitives, footprints, num_instances
