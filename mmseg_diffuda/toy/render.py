"""Appearance of toy scenes: one RGB renderer with a per-domain style, and the depth-like modality.

RGB rendering (:func:`render_rgb`) paints a :class:`~mmseg_diffuda.toy.scene.Scene` in the style of
a domain (:class:`AppearanceStyle`):

1. albedo per instance from the domain's class colours and palettes (building paints, car paints,
   clothing), with per-instance jitter; materials (glass, tyres, skin, trims, lamps) from the part
   map;
2. textures: per-pixel grain (strongest on vegetation and terrain), facade stripes in metric surface
   coordinates (horizontal courses or vertical panels, depending on the domain), paving tiles, lane
   markings;
3. lighting by surface orientation (sun from one side or overcast), soft shadows under vehicles and
   people, and atmospheric haze growing with depth;
4. sky gradient with clouds;
5. a camera response: exposure, colour tint, saturation, contrast, gamma, emissive lamps, blur,
   vignetting, sensor noise and (for rain) streaks.

The source, target and DELIVER domains share this pipeline and the scene distribution; their styles
differ in every step, which gives a real but learnable domain shift (see
:mod:`mmseg_diffuda.toy.domains`).

The depth-like modality (:func:`render_depth_like`) ignores appearance: it encodes camera depth on a
logarithmic 8-bit scale, **near = dark, far = bright** (sky = 255), modelled on the logarithmic
depth visualisation of CARLA, the simulator DELIVER (Zhang et al., CVPR 2023) was rendered with,
plus mild Gaussian sensor noise.
"""
import functools
from dataclasses import dataclass
from typing import Mapping, Tuple

import cv2
import numpy as np

from .geometry import Facing
from .labels import ID, label_id
from .scene import Scene
from .shapes import Part

RGB = Tuple[int, int, int]

#: Relative grain strength per class (vegetation and terrain are the most textured surfaces).
CLASS_GRAIN: Mapping[str, float] = {
    'road': 1.0, 'sidewalk': 0.8, 'building': 0.7, 'wall': 0.9, 'fence': 0.8, 'vegetation': 2.6,
    'terrain': 2.0, 'pole': 0.4, 'traffic sign': 0.2, 'traffic light': 0.2, 'person': 0.5,
    'rider': 0.5, 'car': 0.3, 'truck': 0.4, 'bus': 0.3, 'motorcycle': 0.3, 'bicycle': 0.3,
    'ego vehicle': 0.2}

#: Emissive lamp colours (linear 0..1 before the camera response).
LAMP_COLOURS: Mapping[Part, Tuple[float, float, float]] = {
    Part.LAMP_RED: (0.95, 0.12, 0.08),
    Part.LAMP_WHITE: (1.0, 0.97, 0.85),
    Part.LAMP_AMBER: (1.0, 0.65, 0.1),
    Part.LAMP_GREEN: (0.2, 0.95, 0.45),
}

#: Colours of sign plates (the border is white).
SIGN_COLOURS: Tuple[RGB, ...] = ((200, 30, 30), (30, 70, 170), (235, 190, 30), (240, 240, 240))

VEHICLES = ('car', 'truck', 'bus', 'motorcycle', 'bicycle')
PEOPLE = ('person', 'rider')


@dataclass(frozen=True)
class AppearanceStyle:
    """How a domain paints scenes (all colours are sRGB 0..255, factors are multipliers).

    Args:
        class_colours (Mapping[str, RGB]): Base albedo per Cityscapes class name.
        building_paints (tuple[RGB, ...]): Facade colours, one drawn per building.
        vehicle_paints (tuple[RGB, ...]): Vehicle paints, one drawn per vehicle.
        clothing (tuple[RGB, ...]): Clothing colours of people.
        skin (tuple[RGB, ...]): Skin tones.
        glass (RGB): Windows and windscreens.
        dark (RGB): Tyres, housings, shoes.
        marking (RGB): Lane, edge and zebra markings.
        centre_marking (RGB): Centre line.
        sky_top (RGB): Sky colour at the top of the image.
        sky_horizon (RGB): Sky colour at the horizon (also the haze colour).
        clouds (float): Cloud cover in [0, 1].
        instance_jitter (float): Per-instance brightness spread.
        grain (float): Per-pixel texture amplitude (scaled by :data:`CLASS_GRAIN`).
        stripes (float): Contrast of the facade pattern.
        stripe_period (float): Period of the facade pattern (metres).
        vertical_stripes (bool): Vertical panels instead of horizontal courses.
        facing_light (tuple): Light on (ground, left-side, right-side, frontal) surfaces.
        shadow (float): Darkening inside the shadows of vehicles and people.
        shadow_shift (tuple[float, float]): Shadow offset on the ground (metres in X, Z).
        haze_distance (float): Distance (metres) at which haze reaches 63 %.
        exposure (float): Global brightness factor.
        tint (tuple[float, float, float]): Per-channel (R, G, B) gains.
        saturation (float): Saturation factor.
        contrast (float): Contrast factor about mid-grey.
        gamma (float): Display gamma applied at the end.
        lamp_glow (float): Brightness of emissive lamps.
        blur_sigma (float): Gaussian blur of the optics (pixels).
        noise_sigma (float): Sensor noise standard deviation (0..1 scale).
        vignette (float): Darkening of the corners.
        rain_streaks (int): Number of rain streaks.
        wet_road (float): Darkening of wet ground.
    """

    class_colours: Mapping[str, RGB]
    building_paints: Tuple[RGB, ...]
    vehicle_paints: Tuple[RGB, ...]
    clothing: Tuple[RGB, ...]
    skin: Tuple[RGB, ...]
    glass: RGB
    dark: RGB
    marking: RGB
    centre_marking: RGB
    sky_top: RGB
    sky_horizon: RGB
    clouds: float
    instance_jitter: float
    grain: float
    stripes: float
    stripe_period: float
    vertical_stripes: bool
    facing_light: Tuple[float, float, float, float]
    shadow: float
    shadow_shift: Tuple[float, float]
    haze_distance: float
    exposure: float
    tint: Tuple[float, float, float]
    saturation: float
    contrast: float
    gamma: float
    lamp_glow: float
    blur_sigma: float
    noise_sigma: float
    vignette: float
    rain_streaks: int = 0
    wet_road: float = 0.0


def _colour(rgb: RGB) -> np.ndarray:
    return np.asarray(rgb, dtype=np.float32) / 255.0


def _pick(rng: np.random.Generator, palette: Tuple[RGB, ...], n: int) -> np.ndarray:
    return np.asarray(palette, dtype=np.float32)[rng.integers(len(palette), size=n)] / 255.0


def smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Zero-mean, roughly unit-variance low-frequency noise (random grid upsampled bicubically).

    Args:
        rng (np.random.Generator): Random generator.
        height (int): Output height.
        width (int): Output width.
        cells (int): Grid cells along the height (more cells = finer noise).

    Returns:
        np.ndarray: float32 array of shape (height, width).
    """
    gh, gw = max(2, cells), max(2, cells * width // max(height, 1))
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)


@functools.lru_cache(maxsize=8)
def _radius2(height: int, width: int) -> np.ndarray:
    """Squared normalised distance from the image centre (for vignetting)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return ((yy - height / 2) / (height / 2))**2 * 0.5 + ((xx - width / 2) / (width / 2))**2 * 0.5


class _Painter:
    """Applies one :class:`AppearanceStyle` to one scene."""

    def __init__(self, scene: Scene, style: AppearanceStyle, rng: np.random.Generator) -> None:
        self.scene, self.style, self.rng = scene, style, rng
        self.shape = scene.label.shape
        self.sky = scene.instance < 0

    def _class_lut(self) -> np.ndarray:
        lut = np.full((256, 3), 0.5, dtype=np.float32)
        for name, rgb in self.style.class_colours.items():
            lut[label_id(name)] = _colour(rgb)
        return lut

    def instance_colours(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Body, trim and skin colour of every instance (one extra row for the sky, index -1)."""
        labels = np.append(self.scene.instance_labels, ID['sky'])
        n, rng, style = len(labels), self.rng, self.style
        body = self._class_lut()[labels]
        trim = body * 0.7
        is_ = {name: labels == ID[name] for name in ID}
        buildings, people = is_['building'], is_['rider'] | is_['person']
        vehicles = np.logical_or.reduce([is_[v] for v in VEHICLES])
        body[buildings] = _pick(rng, style.building_paints, n)[buildings]
        trim[buildings] = np.minimum(body[buildings] * 1.3, 1.0)
        body[vehicles] = _pick(rng, style.vehicle_paints, n)[vehicles]
        trim[vehicles] = body[vehicles] * 0.45
        trucks = is_['truck']
        trim[trucks] = _pick(rng, style.building_paints + ((235, 235, 235),), n)[trucks]
        body[people] = _pick(rng, style.clothing, n)[people]
        trim[people] = _pick(rng, style.clothing, n)[people] * 0.6
        signs = is_['traffic sign']
        body[signs] = _pick(rng, SIGN_COLOURS, n)[signs]
        trim[signs] = 0.92
        trim[is_['vegetation']] = _colour((85, 62, 45))
        trim[is_['wall']] = np.minimum(body[is_['wall']] * 1.25, 1.0)
        trim[is_['pole']] = body[is_['pole']] * 0.8
        jitter = 1.0 + style.instance_jitter * rng.standard_normal((n, 1)).astype(np.float32)
        tone = 1.0 + 0.3 * style.instance_jitter * rng.standard_normal((n, 3)).astype(np.float32)
        body, trim = body * jitter * tone, trim * jitter
        skin = _pick(rng, style.skin, n)
        return body, trim, skin

    def albedo(self) -> np.ndarray:
        """Per-pixel surface colour before lighting."""
        sc, style = self.scene, self.style
        body, trim, skin = self.instance_colours()
        inst = sc.instance
        img = body[inst]
        part = sc.part
        for code, colours in ((Part.TRIM, trim), (Part.SKIN, skin)):
            sel = part == code
            img[sel] = colours[inst[sel]]
        glass = part == Part.GLASS
        cell = np.floor(sc.surf_s / 1.7) * 12.9898 + np.floor(sc.surf_t / 1.6) * 78.233 + inst * 3.7
        flicker = (np.sin(cell) * 43758.5453) % 1.0
        img[glass] = _colour(style.glass) * (0.6 + 0.8 * flicker[glass, None])
        img[part == Part.DARK] = _colour(style.dark)
        img[sc.lane_mark == 1] = _colour(style.marking)
        img[sc.lane_mark == 2] = _colour(style.centre_marking)
        return img

    def texture(self) -> np.ndarray:
        """Multiplicative texture: grain, facade stripes and paving tiles."""
        sc, style, (h, w) = self.scene, self.style, self.shape
        grain_lut = np.zeros(256, dtype=np.float32)
        for name, amp in CLASS_GRAIN.items():
            grain_lut[label_id(name)] = amp
        field = (0.6 * self.rng.standard_normal((h, w), dtype=np.float32)
                 + 0.5 * smooth_noise(self.rng, h, w, max(3, h // 6)))
        tex = 1.0 + style.grain * grain_lut[sc.label] * field
        facade = ((sc.label == ID['building']) | (sc.label == ID['wall'])) & (sc.part == Part.BODY)
        coord = sc.surf_s if style.vertical_stripes else sc.surf_t
        stripes = np.where((coord / style.stripe_period) % 1.0 < 0.5, 1.0, -1.0)
        tex[facade] *= 1.0 + style.stripes * stripes[facade]
        tiles = (((sc.surf_s / 0.8) % 1.0 < 0.07) | ((sc.surf_t / 0.8) % 1.0 < 0.07))
        tex[(sc.label == ID['sidewalk']) & (sc.facing == Facing.GROUND) & tiles] *= 0.82
        return np.clip(tex, 0.2, 2.0)

    def lighting(self) -> np.ndarray:
        """Light factor from surface orientation, object shadows and wet ground."""
        sc, style = self.scene, self.style
        lut = np.array((1.0,) + tuple(style.facing_light), dtype=np.float32)
        light = lut[sc.facing]
        ground = sc.facing == Facing.GROUND
        gx, gz = sc.surf_s[ground], sc.surf_t[ground]
        shade = np.ones(gx.shape, dtype=np.float32)
        dx, dz = style.shadow_shift
        for x0, x1, z0, z1 in sc.footprints:
            inside = ((gx > x0 + dx - 0.2) & (gx < x1 + dx + 0.2)
                      & (gz > z0 + dz - 0.2) & (gz < z1 + dz + 0.3))
            shade[inside] = 1.0 - style.shadow
        light[ground] *= shade * (1.0 - style.wet_road)
        return light

    def sky_colour(self) -> np.ndarray:
        """Sky gradient from the top of the image to the horizon, with clouds."""
        (h, w), style = self.shape, self.style
        rows = np.arange(h, dtype=np.float32)[:, None]
        frac = np.clip(rows / max(self.scene.camera.v0, 1.0), 0.0, 1.0)[..., None] ** 0.7
        sky = _colour(style.sky_top) * (1 - frac) + _colour(style.sky_horizon) * frac
        sky = np.broadcast_to(sky, (h, w, 3)).copy()
        cloud = np.clip(
            smooth_noise(self.rng, h, w, 4) * 0.8 + (style.clouds - 0.5) * 2.0, 0.0, 1.0)
        cloud_colour = np.maximum(_colour(style.sky_horizon),
                                  0.85 * _colour(style.sky_horizon) + 0.15)
        return sky * (1 - cloud[..., None]) + cloud_colour * cloud[..., None]

    def camera_response(self, img: np.ndarray) -> np.ndarray:
        """Exposure, tint, lamps, colour grading, blur, vignetting, noise and rain."""
        style, (h, w), rng = self.style, self.shape, self.rng
        img = img * style.exposure * np.asarray(style.tint, dtype=np.float32)
        for part, rgb in LAMP_COLOURS.items():
            sel = self.scene.part == part
            img[sel] = np.asarray(rgb, dtype=np.float32) * style.lamp_glow
        grey = img.mean(axis=-1, keepdims=True)
        img = grey + style.saturation * (img - grey)
        img = (img - 0.5) * style.contrast + 0.5
        img = np.clip(img, 0.0, 1.0) ** (1.0 / style.gamma)
        if style.blur_sigma > 0:
            img = cv2.GaussianBlur(img, (0, 0), style.blur_sigma)
        if style.vignette > 0:
            img = img * (1.0 - style.vignette * _radius2(h, w))[..., None]
        noise = (0.7 * rng.standard_normal((h, w, 1), dtype=np.float32)
                 + 0.5 * rng.standard_normal((h, w, 3), dtype=np.float32))
        img = img + style.noise_sigma * noise
        if style.rain_streaks:
            img = self._rain(img)
        return np.clip(img, 0.0, 1.0)

    def _rain(self, img: np.ndarray) -> np.ndarray:
        h, w = self.shape
        streaks = np.zeros((h, w), dtype=np.float32)
        length = max(2, h // 12)
        for _ in range(self.style.rain_streaks):
            x, y = int(self.rng.integers(w)), int(self.rng.integers(h))
            cv2.line(streaks, (x, y), (x + length // 3, y + length), 1.0, 1)
        return img * (1 - 0.25 * streaks[..., None]) + 0.25 * streaks[..., None] * 0.85

    def paint(self) -> np.ndarray:
        img = self.albedo() * self.texture()[..., None] * self.lighting()[..., None]
        depth = np.where(self.sky, 0.0, self.scene.depth)
        haze = (1.0 - np.exp(-depth / self.style.haze_distance))[..., None]
        img = img * (1 - haze) + _colour(self.style.sky_horizon) * haze
        sky = self.sky_colour()
        img[self.sky] = sky[self.sky]
        return self.camera_response(img.astype(np.float32))


def render_rgb(scene: Scene, style: AppearanceStyle, rng: np.random.Generator) -> np.ndarray:
    """Paint a scene in a domain's style.

    Args:
        scene (Scene): The scene.
        style (AppearanceStyle): The domain's appearance.
        rng (np.random.Generator): Random generator for colours, textures and noise.

    Returns:
        np.ndarray: uint8 RGB image of shape (H, W, 3).
    """
    img = _Painter(scene, style, rng).paint()
    return np.round(img * 255.0).astype(np.uint8)


def encode_depth_like(depth: np.ndarray, near: float = 1.0, far: float = 1000.0) -> np.ndarray:
    """Logarithmic depth grey level, near = dark, far = bright (no noise, not rounded).

    ``value = 255 * log(clip(depth, near, far) / near) / log(far / near)``; the sky (``inf``) is
    255.

    Args:
        depth (np.ndarray): Camera depth in metres (``inf`` for the sky).
        near (float): Depth mapped to 0.
        far (float): Depth mapped to 255.

    Returns:
        np.ndarray: float32 grey levels in [0, 255], non-decreasing in depth.
    """
    clipped = np.clip(np.asarray(depth, dtype=np.float64), near, far)
    grey = 255.0 * np.log(clipped / near) / np.log(far / near)
    return np.clip(grey, 0.0, 255.0).astype(np.float32)


def render_depth_like(scene: Scene, rng: np.random.Generator,
                      noise_sigma: float = 1.5) -> np.ndarray:
    """Single-channel 8-bit depth image of a scene (the DELIVER depth-like modality).

    Args:
        scene (Scene): The scene.
        rng (np.random.Generator): Random generator for the sensor noise.
        noise_sigma (float): Standard deviation of the additive noise in grey levels.

    Returns:
        np.ndarray: uint8 image of shape (H, W).
    """
    grey = encode_depth_like(scene.depth)
    grey = grey + noise_sigma * rng.standard_normal(grey.shape).astype(np.float32)
    return np.clip(np.round(grey), 0, 255).astype(np.uint8)
