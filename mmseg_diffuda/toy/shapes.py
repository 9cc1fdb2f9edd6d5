"""Silhouettes of the toy scene objects, drawn on vertical rectangles in metric plane coordinates.

Every object of a toy scene (facades, cars, persons, poles, ...) is a vertical rectangle in the
world (see :mod:`mmseg_diffuda.toy.scene`). The ray caster computes, for each pixel that sees the
rectangle's plane, the metric coordinates ``(s, h)`` of the hit point: ``s`` along the rectangle
(metres from its start) and ``h`` up from its base. A shape function turns those coordinates into a
silhouette mask and a *part* map (glass, tyres, lamps, skin, ...). Because the shapes live in plane
coordinates, windows, wheels and signs are perspective-correct and their size in pixels follows the
object's distance.

The part map only drives appearance (:mod:`mmseg_diffuda.toy.render`); the semantic label of a
rectangle is a single Cityscapes class.
"""
from enum import IntEnum
from typing import Callable, Dict, Sequence, Tuple

import numpy as np

ShapeOutput = Tuple[np.ndarray, np.ndarray]


class Part(IntEnum):
    """Material of a pixel inside an object (appearance only, not a label)."""

    BODY = 0
    TRIM = 1
    GLASS = 2
    DARK = 3
    SKIN = 4
    LAMP_RED = 5
    LAMP_WHITE = 6
    LAMP_AMBER = 7
    LAMP_GREEN = 8


class Shape(IntEnum):
    """Silhouette kinds; each has a function ``f(s, h, length, height, params)`` below."""

    FACADE = 0
    HEDGE = 1
    WALL = 2
    FENCE = 3
    CAR_END = 4
    CAR_SIDE = 5
    BUS_END = 6
    BUS_SIDE = 7
    TRUCK_END = 8
    TRUCK_SIDE = 9
    PERSON = 10
    RIDER_SIDE = 11
    RIDER_REAR = 12
    BIKE_SIDE = 13
    BIKE_REAR = 14
    MOTO_SIDE = 15
    MOTO_REAR = 16
    POLE = 17
    SIGN = 18
    LIGHT = 19
    TREE = 20


def _parts(h: np.ndarray) -> np.ndarray:
    return np.full(h.shape, Part.BODY, dtype=np.uint8)


def _full(s: np.ndarray, h: np.ndarray) -> np.ndarray:
    return np.ones(np.broadcast_shapes(s.shape, h.shape), dtype=bool)


def _disc(s: np.ndarray, h: np.ndarray, cs: float, ch: float, r: float) -> np.ndarray:
    return (s - cs)**2 + (h - ch)**2 < r * r


def _segment(s: np.ndarray, h: np.ndarray, p0: Sequence[float], p1: Sequence[float],
             half_width: float) -> np.ndarray:
    """Pixels within ``half_width`` metres of the segment p0-p1 (a drawn stroke)."""
    ds, dh = p1[0] - p0[0], p1[1] - p0[1]
    lam = np.clip(((s - p0[0]) * ds + (h - p0[1]) * dh) / (ds * ds + dh * dh), 0.0, 1.0)
    return (s - p0[0] - lam * ds)**2 + (h - p0[1] - lam * dh)**2 < half_width**2


def facade(s, h, length, height, params) -> ShapeOutput:
    """Building wall with a window grid, shop windows and a cornice.

    params: (floor height, bay width, window width fraction, ground floor height,
    window height fraction).
    """
    floor_h, bay, win_w, ground_h, win_h = params
    mask = _full(s, h)
    part = _parts(mask)
    fy = ((h - ground_h) / floor_h) % 1.0
    fx = (s / bay) % 1.0
    window = ((h > ground_h) & (fy > 0.3) & (fy < 0.3 + win_h) & (np.abs(fx - 0.5) < win_w / 2)
              & (h < height - 0.8))
    shop = (h > 0.4) & (h < ground_h - 0.6) & (((s / (2 * bay)) % 1.0) < 0.7)
    part[window | shop] = Part.GLASS
    part[np.broadcast_to(h > height - 0.5, mask.shape)] = Part.TRIM
    return mask, part


def hedge(s, h, length, height, params) -> ShapeOutput:
    """Mass of vegetation (hedge, bushes, tree line, hills) with a wavy top edge.

    params: (phase 1, phase 2, spatial frequency 1 [rad/m], spatial frequency 2,
    relative amplitude).
    """
    ph1, ph2, f1, f2, amp = params
    top = height * (1.0 - amp * (0.5 + 0.3 * np.sin(f1 * s + ph1) + 0.2 * np.sin(f2 * s + ph2)))
    mask = h < top
    return mask, _parts(mask)


def wall(s, h, length, height, params) -> ShapeOutput:
    """Free-standing wall with a coping stone on top."""
    mask = _full(s, h)
    part = _parts(mask)
    part[np.broadcast_to(h > height - 0.15, mask.shape)] = Part.TRIM
    return mask, part


def fence(s, h, length, height, params) -> ShapeOutput:
    """Fence: posts and rails (TRIM) around a mesh (BODY). params: (post spacing,)."""
    (spacing,) = params
    mask = _full(s, h)
    part = _parts(mask)
    posts = ((s % spacing) < 0.1) | (h > height - 0.1) | (np.abs(h - 0.15) < 0.05)
    part[np.broadcast_to(posts, mask.shape)] = Part.TRIM
    return mask, part


def car_end(s, h, length, height, params) -> ShapeOutput:
    """Car seen from behind or from the front. params: (lamp part,)."""
    (lamp,) = params
    a, b = s / length, h / height
    body = (b >= 0.1) & (b < 0.55)
    cab_half = 0.4 - 0.14 * (b - 0.55) / 0.45
    cabin = (b >= 0.55) & (np.abs(a - 0.5) < cab_half)
    wheels = (b < 0.2) & ((a < 0.2) | (a > 0.8))
    mask = body | cabin | wheels
    part = _parts(mask)
    part[body & (b < 0.2)] = Part.TRIM
    part[(b > 0.6) & (b < 0.95) & (np.abs(a - 0.5) < cab_half - 0.05)] = Part.GLASS
    part[wheels] = Part.DARK
    part[(b > 0.36) & (b < 0.48) & ((a < 0.16) | (a > 0.84))] = int(lamp)
    return mask, part


def car_side(s, h, length, height, params) -> ShapeOutput:
    """Car seen from the side (length ~4.3 m)."""
    a, b = s / length, h / height
    body = (b >= 0.15) & (b < 0.55)
    tb = (b - 0.55) / 0.45
    cabin = (b >= 0.55) & (a > 0.2 + 0.12 * tb) & (a < 0.75 - 0.1 * tb)
    r = 0.3
    wheels = _disc(s, h, 0.18 * length, r, r) | _disc(s, h, 0.8 * length, r, r)
    mask = body | cabin | wheels
    part = _parts(mask)
    glass = ((b > 0.6) & (b < 0.93) & (a > 0.24 + 0.12 * tb) & (a < 0.72 - 0.1 * tb)
             & (np.abs(a - 0.48) > 0.015))
    part[glass] = Part.GLASS
    part[wheels] = Part.DARK
    return mask, part


def bus_end(s, h, length, height, params) -> ShapeOutput:
    """Bus seen from behind or from the front. params: (lamp part,)."""
    (lamp,) = params
    a, b = s / length, h / height
    body = b >= 0.1
    wheels = (b < 0.12) & ((a < 0.18) | (a > 0.82))
    mask = body | wheels
    part = _parts(mask)
    part[(b > 0.4) & (b < 0.9) & (np.abs(a - 0.5) < 0.44)] = Part.GLASS
    part[(b > 0.9)] = Part.TRIM
    part[wheels] = Part.DARK
    part[(b > 0.15) & (b < 0.24) & ((a < 0.12) | (a > 0.88))] = int(lamp)
    return mask, part


def bus_side(s, h, length, height, params) -> ShapeOutput:
    """Bus seen from the side: a window band and two axles."""
    b = h / height
    r = 0.5
    wheels = _disc(s, h, 2.6, r, r) | _disc(s, h, length - 3.0, r, r)
    mask = (b >= 0.12) | wheels
    part = _parts(mask)
    windows = (b > 0.5) & (b < 0.88) & ((s % 1.4) > 0.15) & (s > 0.3) & (s < length - 0.3)
    part[windows] = Part.GLASS
    part[(b > 0.9) | ((b > 0.12) & (b < 0.2))] = Part.TRIM
    part[wheels] = Part.DARK
    return mask, part


def truck_end(s, h, length, height, params) -> ShapeOutput:
    """Truck from behind (cargo box with doors) or from the front (cab).

    params: (is front, lamp part).
    """
    is_front, lamp = params
    a, b = s / length, h / height
    wheels = (b < 0.15) & ((a < 0.2) | (a > 0.8))
    body = b >= 0.12
    mask = body | wheels
    part = _parts(mask)
    if is_front:
        part[(b > 0.45) & (b < 0.68) & (np.abs(a - 0.5) < 0.42)] = Part.GLASS
        part[(b > 0.72)] = Part.TRIM
    else:
        part[(np.abs(a - 0.5) < 0.012) & (b > 0.25)] = Part.DARK
        part[(b > 0.12) & (b < 0.22)] = Part.TRIM
    part[wheels] = Part.DARK
    part[(b > 0.2) & (b < 0.27) & ((a < 0.1) | (a > 0.9))] = int(lamp)
    return mask, part


def truck_side(s, h, length, height, params) -> ShapeOutput:
    """Truck from the side: cab, cargo box, chassis and wheels. params: (cab at far end,)."""
    (cab_far,) = params
    b = h / height
    cab_lo, cab_hi = (length - 2.4, length) if cab_far else (0.0, 2.4)
    in_cab = (s >= cab_lo) & (s <= cab_hi)
    cab = in_cab & (b < 0.78)
    box = ~in_cab & (np.abs(s - (cab_lo - 0.1 if cab_far else cab_hi + 0.1)) > 0.1) & (b > 0.25)
    chassis = (b > 0.12) & (b <= 0.25)
    r = 0.5
    wheels = (_disc(s, h, 1.2 if not cab_far else length - 1.2, r, r)
              | _disc(s, h, length - 1.6 if not cab_far else 1.6, r, r))
    mask = cab | box | chassis | wheels
    part = _parts(mask)
    part[in_cab & (b > 0.48) & (b < 0.7) & (np.abs(s - (cab_lo + cab_hi) / 2) < 0.8)] = Part.GLASS
    part[chassis] = Part.DARK
    part[box] = Part.TRIM
    part[wheels] = Part.DARK
    return mask, part


def person(s, h, length, height, params) -> ShapeOutput:
    """Standing/walking person, front or back view (width ~0.6 m). params: (stride,)."""
    (stride,) = params
    a, b = s / length, h / height
    head = _disc(s, h, 0.5 * length, 0.925 * height, 0.065 * height)
    torso = (b >= 0.48) & (b < 0.86) & (np.abs(a - 0.5) < 0.28)
    arms = (b >= 0.47) & (b < 0.84) & (np.abs(a - 0.5) >= 0.28) & (np.abs(a - 0.5) < 0.39)
    legs = (b < 0.5) & ((np.abs(a - 0.5 + 0.13 + stride * (0.5 - b)) < 0.1)
                        | (np.abs(a - 0.5 - 0.13 - stride * (0.5 - b)) < 0.1))
    mask = head | torso | arms | legs
    part = _parts(mask)
    part[legs] = Part.TRIM
    part[legs & (b < 0.05)] = Part.DARK
    part[head | (arms & (b < 0.52))] = Part.SKIN
    return mask, part


def rider_side(s, h, length, height, params) -> ShapeOutput:
    """Person riding a bike, side view, heading towards +s (placed over a bike's rectangle)."""
    a, b = s / length, h / height
    lean = 0.42 + 0.14 * (b - 0.55) / 0.3
    torso = (b >= 0.53) & (b < 0.86) & (np.abs(a - lean) < 0.1)
    head = _disc(s, h, 0.58 * length, 0.925 * height, 0.065 * height)
    arm = _segment(s, h, (0.55 * length, 0.8 * height), (0.72 * length, 0.6 * height), 0.05)
    thigh = _segment(s, h, (0.42 * length, 0.56 * height), (0.6 * length, 0.45 * height), 0.08)
    shin = _segment(s, h, (0.6 * length, 0.45 * height), (0.48 * length, 0.17 * height), 0.06)
    mask = torso | head | arm | thigh | shin
    part = _parts(mask)
    part[thigh | shin] = Part.TRIM
    part[head] = Part.SKIN
    return mask, part


def rider_rear(s, h, length, height, params) -> ShapeOutput:
    """Person riding a bike seen from behind: upper body over the wheel, legs on the pedals."""
    a, b = s / length, h / height
    head = _disc(s, h, 0.5 * length, 0.925 * height, 0.065 * height)
    torso = (b >= 0.5) & (b < 0.86) & (np.abs(a - 0.5) < 0.28)
    arms = (b >= 0.6) & (b < 0.84) & (np.abs(a - 0.5) >= 0.28) & (np.abs(a - 0.5) < 0.42)
    legs = (b >= 0.28) & (b < 0.52) & (np.abs(np.abs(a - 0.5) - 0.14) < 0.09)
    mask = head | torso | arms | legs
    part = _parts(mask)
    part[legs] = Part.TRIM
    part[head] = Part.SKIN
    return mask, part


def bike_side(s, h, length, height, params) -> ShapeOutput:
    """Bicycle from the side, heading towards +s: wheels and a diamond frame (~1.7 m x 1.05 m)."""
    r = 0.34
    rear, front = (r, r), (length - r, r)
    wheels = _disc(s, h, rear[0], rear[1], r) | _disc(s, h, front[0], front[1], r)
    spokes = _disc(s, h, rear[0], rear[1], r - 0.05) | _disc(s, h, front[0], front[1], r - 0.05)
    bb, seat = (0.47 * length, 0.3), (0.4 * length, 0.82 * height)
    head, bars = (0.74 * length, 0.8 * height), (0.72 * length, height)
    frame = np.zeros(np.broadcast_shapes(s.shape, h.shape), dtype=bool)
    for p0, p1 in ((rear, bb), (rear, seat), (seat, bb), (seat, head), (bb, head), (head, front),
                   (head, bars)):
        frame |= _segment(s, h, p0, p1, 0.035)
    mask = wheels | frame
    part = _parts(mask)
    part[wheels & ~spokes] = Part.DARK
    part[wheels & spokes & ~frame] = Part.TRIM
    return mask, part


def bike_rear(s, h, length, height, params) -> ShapeOutput:
    """Bicycle from behind: a thin wheel, handlebar and red rear lamp (width ~0.6 m)."""
    a, b = s / length, h / height
    wheel = (np.abs(a - 0.5) < 0.05) & (b < 0.66)
    bars = (b > 0.93) & (np.abs(a - 0.5) < 0.46)
    stem = (np.abs(a - 0.5) < 0.04) & (b >= 0.66)
    mask = wheel | bars | stem
    part = _parts(mask)
    part[wheel] = Part.DARK
    part[(np.abs(a - 0.5) < 0.05) & (b > 0.6) & (b < 0.68)] = Part.LAMP_RED
    return mask, part


def moto_side(s, h, length, height, params) -> ShapeOutput:
    """Motorcycle from the side, heading towards +s (length ~2.0 m): wheels, body, seat, fork."""
    r = 0.32
    wheels = _disc(s, h, 0.4, r, r) | _disc(s, h, length - 0.4, r, r)
    body = ((s - 0.5 * length)**2 / (0.32 * length)**2 + (h - 0.55 * height)**2 /
            (0.22 * height)**2) < 1
    seat = (np.abs(s - 0.38 * length) < 0.2 * length) & (np.abs(h - 0.72 * height) < 0.05 * height)
    fork = _segment(s, h, (length - 0.4, r), (length - 0.55, 0.95 * height), 0.04)
    mask = wheels | body | seat | fork
    part = _parts(mask)
    part[wheels] = Part.DARK
    part[seat | fork] = Part.TRIM
    return mask, part


def moto_rear(s, h, length, height, params) -> ShapeOutput:
    """Motorcycle from behind (width ~0.75 m)."""
    a, b = s / length, h / height
    wheel = (np.abs(a - 0.5) < 0.09) & (b < 0.45)
    body = (b >= 0.3) & (b < 0.72) & (np.abs(a - 0.5) < 0.33)
    bars = (b > 0.85) & (b < 0.93) & (np.abs(a - 0.5) < 0.48)
    mask = wheel | body | bars
    part = _parts(mask)
    part[wheel] = Part.DARK
    part[(b > 0.6) & (b < 0.68) & (np.abs(a - 0.5) < 0.12)] = Part.LAMP_RED
    return mask, part


def pole(s, h, length, height, params) -> ShapeOutput:
    """Pole, optionally a street lamp with an arm.

    params: (pole width, arm towards +s (True) or -s (False)).
    """
    width, arm_positive = params
    p0 = 0.0 if arm_positive else length - width
    shaft = (s >= p0) & (s <= p0 + width)
    has_arm = length > width + 0.05
    no_arm = np.zeros_like(h, dtype=bool)
    arm = (h > height - 0.22) & (h < height - 0.08) if has_arm else no_arm
    end = length if arm_positive else 0.0
    head = (np.abs(s - end) < 0.45) & (h > height - 0.3) if has_arm else no_arm
    mask = shaft | arm | head
    part = _parts(mask)
    part[head] = Part.TRIM
    part[head & (h < height - 0.22)] = Part.LAMP_WHITE
    return mask, part


def sign(s, h, length, height, params) -> ShapeOutput:
    """Traffic sign plate with a border.

    params: (form: 0 circle, 1 triangle, 2 down triangle, 3 diamond, 4 rectangle).
    """
    (form,) = params
    cs, ch, r = length / 2, height / 2, min(length, height) / 2

    def inside(scale: float) -> np.ndarray:
        ds, dh = (s - cs) / (r * scale), (h - ch) / (r * scale)
        if form == 0:
            return ds * ds + dh * dh < 1
        if form == 1:
            return (dh > -0.8) & (np.abs(ds) < (1.0 - dh) / 1.15)
        if form == 2:
            return (dh < 0.8) & (np.abs(ds) < (1.0 + dh) / 1.15)
        if form == 3:
            return np.abs(ds) + np.abs(dh) < 1
        return (np.abs(ds) < 1) & (np.abs(dh) < 0.7)

    mask = inside(1.0)
    part = _parts(mask)
    part[mask & ~inside(0.75)] = Part.TRIM
    return mask, part


def light(s, h, length, height, params) -> ShapeOutput:
    """Traffic light housing with three lamps. params: (lit lamp: 0 red, 1 amber, 2 green)."""
    (lit,) = params
    mask = _full(s, h)
    part = _parts(mask)
    lamps = (Part.LAMP_RED, Part.LAMP_AMBER, Part.LAMP_GREEN)
    for k, lamp in enumerate(lamps):
        disc = _disc(s, h, length / 2, height * (0.8 - 0.3 * k), 0.3 * length)
        part[disc] = int(lamp) if k == int(lit) else int(Part.DARK)
    return mask, part


def tree(s, h, length, height, params) -> ShapeOutput:
    """Tree: trunk and a lumpy canopy. params: (trunk width, canopy radius, three phases)."""
    trunk_w, radius, ph1, ph2, ph3 = params
    cs, ch = length / 2, height - radius * 1.1
    ds, dh = s - cs, (h - ch) / 1.1
    theta = np.arctan2(dh, ds)
    rim = radius * (1 + 0.12 * np.sin(5 * theta + ph1) + 0.08 * np.sin(11 * theta + ph2)
                    + 0.05 * np.sin(17 * theta + ph3))
    canopy = ds * ds + dh * dh < rim * rim
    trunk = (np.abs(s - cs) < trunk_w / 2) & (h < ch)
    mask = canopy | trunk
    part = _parts(mask)
    part[trunk & ~canopy] = Part.TRIM
    return mask, part


SHAPE_FUNCTIONS: Dict[Shape, Callable[..., ShapeOutput]] = {
    Shape.FACADE: facade,
    Shape.HEDGE: hedge,
    Shape.WALL: wall,
    Shape.FENCE: fence,
    Shape.CAR_END: car_end,
    Shape.CAR_SIDE: car_side,
    Shape.BUS_END: bus_end,
    Shape.BUS_SIDE: bus_side,
    Shape.TRUCK_END: truck_end,
    Shape.TRUCK_SIDE: truck_side,
    Shape.PERSON: person,
    Shape.RIDER_SIDE: rider_side,
    Shape.RIDER_REAR: rider_rear,
    Shape.BIKE_SIDE: bike_side,
    Shape.BIKE_REAR: bike_rear,
    Shape.MOTO_SIDE: moto_side,
    Shape.MOTO_REAR: moto_rear,
    Shape.POLE: pole,
    Shape.SIGN: sign,
    Shape.LIGHT: light,
    Shape.TREE: tree,
}
