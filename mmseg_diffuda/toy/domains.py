"""The three toy domains: layout distribution and appearance of each.

* **GTA5-like source** (Richter et al., ECCV 2016): a game engine in a sunny US city. Saturated,
  warm colours, hard sun from the left with dark shadows, yellow centre lines, crisp image without
  blur and with little noise, slightly wider field of view and a camera height that varies between
  vehicles, taller buildings, more vehicles and fewer cyclists.
* **Cityscapes-like target** (Cordts et al., CVPR 2016): overcast German cities recorded with a car
  camera at 1.22 m. Greyish, desaturated, slightly green colours, diffuse light, hue-shifted class
  colours, vertical facade panels instead of horizontal courses, optical blur, vignetting, visible
  sensor noise and the bonnet of the recording car (``ego vehicle``) at the bottom; more pedestrians
  and cyclists.
* **DELIVER-like target** (Zhang et al., CVPR 2023): CARLA renders in five conditions (cloud, fog,
  night, rain, sun). The modality used for adaptation is depth (geometry only, see
  :func:`~mmseg_diffuda.toy.render.render_depth_like`); the RGB frames that DELIVER also ships are
  rendered with the condition's style.

All domains draw scenes from the same generator; only the parameters below differ.
"""
import dataclasses
from dataclasses import dataclass
from typing import Dict, Tuple

from .layout import LayoutParams
from .render import AppearanceStyle


@dataclass(frozen=True)
class DomainSpec:
    """Layout distribution and appearance of one domain.

    Args:
        name (str): Short name.
        layout (LayoutParams): Scene layout distribution.
        style (AppearanceStyle): Appearance.
    """

    name: str
    layout: LayoutParams
    style: AppearanceStyle


GTA5 = DomainSpec(
    name='gta5',
    layout=LayoutParams(
        focal_per_width=0.95, camera_height=(1.1, 1.7), horizon=(0.38, 0.5), max_yaw=0.07,
        building_height=(9.0, 34.0), vegetation_block_prob=0.22, vehicle_fill=0.42,
        parked_prob=0.5, truck_prob=0.035, bus_prob=0.03, person_rate=2.5, rider_rate=0.25,
        motorcycle_share=0.45, bicycle_rate=0.25, sign_prob=0.25, light_prob=0.15,
        tree_row_prob=0.35),
    style=AppearanceStyle(
        class_colours={
            'road': (72, 70, 76), 'sidewalk': (178, 165, 146), 'building': (170, 150, 125),
            'wall': (168, 156, 136), 'fence': (122, 104, 84), 'pole': (95, 95, 98),
            'traffic light': (45, 45, 40), 'traffic sign': (200, 30, 30),
            'vegetation': (58, 118, 36), 'terrain': (128, 150, 58), 'sky': (95, 150, 225),
            'person': (150, 60, 60), 'rider': (60, 60, 150), 'car': (150, 20, 20),
            'truck': (200, 200, 200), 'bus': (220, 180, 30), 'motorcycle': (30, 30, 30),
            'bicycle': (30, 90, 180), 'ego vehicle': (20, 20, 20)},
        building_paints=((190, 150, 110), (160, 80, 60), (210, 200, 180), (120, 125, 140),
                         (205, 170, 120), (150, 110, 90)),
        vehicle_paints=((190, 25, 25), (25, 60, 170), (235, 235, 235), (25, 25, 28),
                        (165, 170, 178), (240, 200, 30), (30, 130, 70)),
        clothing=((200, 40, 40), (40, 70, 180), (240, 240, 240), (30, 30, 30), (230, 180, 40),
                  (60, 150, 80)),
        skin=((230, 180, 140), (180, 120, 80), (120, 80, 55)),
        glass=(70, 105, 150), dark=(18, 18, 20),
        marking=(245, 245, 240), centre_marking=(240, 190, 20),  # yellow US centre line
        sky_top=(45, 105, 215), sky_horizon=(175, 205, 240), clouds=0.25,
        instance_jitter=0.12, grain=0.05,
        stripes=0.1, stripe_period=0.6, vertical_stripes=False,  # horizontal brick courses
        facing_light=(1.0, 1.25, 0.6, 0.85), shadow=0.55, shadow_shift=(0.9, 0.3),  # hard sun
        haze_distance=600.0, exposure=1.05, tint=(1.06, 1.0, 0.9), saturation=1.35,
        contrast=1.15, gamma=1.0, lamp_glow=1.0,
        blur_sigma=0.0, noise_sigma=0.006, vignette=0.0))

CITYSCAPES = DomainSpec(
    name='cityscapes',
    layout=LayoutParams(
        focal_per_width=1.105, camera_height=(1.18, 1.26), horizon=(0.40, 0.46), max_yaw=0.04,
        building_height=(8.0, 20.0), vegetation_block_prob=0.28, vehicle_fill=0.3,
        parked_prob=0.55, truck_prob=0.025, bus_prob=0.02, person_rate=4.0, rider_rate=0.45,
        motorcycle_share=0.2, bicycle_rate=0.6, sign_prob=0.25, light_prob=0.15,
        tree_row_prob=0.5, ego_hood=True),
    style=AppearanceStyle(
        class_colours={
            'road': (112, 114, 110), 'sidewalk': (138, 134, 130), 'building': (140, 136, 126),
            'wall': (130, 128, 120), 'fence': (100, 104, 96), 'pole': (80, 84, 82),
            'traffic light': (40, 44, 40), 'traffic sign': (200, 40, 40),
            'vegetation': (78, 96, 52), 'terrain': (112, 118, 78), 'sky': (205, 212, 215),
            'person': (80, 80, 90), 'rider': (70, 80, 100), 'car': (90, 95, 100),
            'truck': (180, 180, 175), 'bus': (200, 200, 70), 'motorcycle': (50, 50, 55),
            'bicycle': (40, 45, 50), 'ego vehicle': (30, 34, 40)},
        building_paints=((150, 145, 135), (170, 160, 140), (120, 118, 115), (160, 130, 110),
                         (185, 180, 165), (110, 115, 110)),
        vehicle_paints=((60, 62, 66), (150, 152, 155), (200, 200, 198), (30, 35, 55),
                        (110, 40, 40), (25, 25, 25), (120, 125, 110)),
        clothing=((40, 40, 45), (70, 75, 90), (120, 110, 100), (160, 160, 160), (90, 40, 40),
                  (30, 50, 70)),
        skin=((200, 170, 150), (160, 125, 100)),
        glass=(55, 65, 70), dark=(28, 30, 30),
        marking=(215, 218, 212), centre_marking=(215, 218, 212),  # white German centre line
        sky_top=(185, 198, 208), sky_horizon=(222, 228, 230), clouds=0.7,  # overcast
        instance_jitter=0.1, grain=0.08,
        stripes=0.08, stripe_period=1.3, vertical_stripes=True,  # vertical facade panels
        facing_light=(1.0, 0.92, 0.86, 0.9), shadow=0.3, shadow_shift=(0.0, 0.0),  # diffuse
        haze_distance=260.0, exposure=0.95, tint=(0.95, 1.03, 0.98), saturation=0.7,
        contrast=0.9, gamma=1.1, lamp_glow=0.9,
        blur_sigma=0.6, noise_sigma=0.018, vignette=0.25))

#: CARLA-like base appearance of DELIVER frames; conditions modify it (see :func:`deliver_style`).
_DELIVER_BASE = AppearanceStyle(
    class_colours={
        'road': (92, 90, 88), 'sidewalk': (160, 150, 140), 'building': (150, 140, 130),
        'wall': (150, 140, 120), 'fence': (110, 100, 90), 'pole': (90, 90, 90),
        'traffic light': (40, 40, 40), 'traffic sign': (200, 40, 40),
        'vegetation': (70, 110, 50), 'terrain': (120, 130, 70), 'sky': (120, 165, 215),
        'person': (100, 80, 80), 'rider': (80, 80, 120), 'car': (120, 30, 30),
        'truck': (200, 200, 200), 'bus': (210, 170, 50), 'motorcycle': (40, 40, 40),
        'bicycle': (60, 60, 150), 'ego vehicle': (20, 20, 20)},
    building_paints=((170, 150, 130), (140, 100, 80), (190, 185, 175), (110, 115, 125),
                     (160, 140, 110)),
    vehicle_paints=((170, 30, 30), (40, 70, 150), (220, 220, 220), (30, 30, 30), (150, 155, 160),
                    (210, 180, 40)),
    clothing=((170, 50, 50), (50, 70, 150), (220, 220, 220), (40, 40, 40), (200, 160, 60)),
    skin=((220, 175, 140), (170, 120, 90)),
    glass=(60, 85, 110), dark=(20, 20, 22),
    marking=(230, 230, 225), centre_marking=(230, 200, 60),
    sky_top=(80, 135, 210), sky_horizon=(170, 195, 225), clouds=0.35,
    instance_jitter=0.1, grain=0.04,
    stripes=0.06, stripe_period=0.9, vertical_stripes=False,
    facing_light=(1.0, 1.1, 0.75, 0.9), shadow=0.4, shadow_shift=(0.6, 0.2),
    haze_distance=400.0, exposure=1.0, tint=(1.0, 1.0, 1.0), saturation=1.1, contrast=1.05,
    gamma=1.0, lamp_glow=1.0,
    blur_sigma=0.0, noise_sigma=0.008, vignette=0.0)

#: DELIVER's adverse and normal conditions, in DELIVER's directory names.
DELIVER_CONDITIONS: Tuple[str, ...] = ('cloud', 'fog', 'night', 'rain', 'sun')

_CONDITION_CHANGES: Dict[str, dict] = {
    'cloud': dict(sky_top=(150, 160, 172), sky_horizon=(195, 200, 205), clouds=0.85,
                  facing_light=(1.0, 0.92, 0.85, 0.88), shadow=0.15, exposure=0.85,
                  saturation=0.85),
    'fog': dict(sky_top=(185, 188, 190), sky_horizon=(200, 202, 204), clouds=0.3,
                haze_distance=40.0, facing_light=(1.0, 0.9, 0.88, 0.9), shadow=0.1, saturation=0.7,
                contrast=0.8),
    'night': dict(sky_top=(5, 8, 20), sky_horizon=(25, 28, 45), clouds=0.1, exposure=0.22,
                  tint=(0.85, 0.9, 1.2), shadow=0.1, facing_light=(1.0, 0.9, 0.9, 0.95),
                  lamp_glow=1.3, noise_sigma=0.03, haze_distance=250.0),
    'rain': dict(sky_top=(110, 115, 125), sky_horizon=(150, 155, 162), clouds=0.9, exposure=0.7,
                 shadow=0.1, facing_light=(1.0, 0.9, 0.85, 0.88), saturation=0.8, rain_streaks=120,
                 wet_road=0.3, haze_distance=150.0),
    'sun': dict(clouds=0.15, facing_light=(1.0, 1.3, 0.6, 0.85), shadow=0.6, exposure=1.1),
}

DELIVER = DomainSpec(
    name='deliver',
    layout=LayoutParams(
        focal_per_width=0.8, camera_height=(1.5, 2.0), horizon=(0.42, 0.5), max_yaw=0.05,
        building_height=(8.0, 26.0), vegetation_block_prob=0.3, vehicle_fill=0.32,
        parked_prob=0.35, truck_prob=0.035, bus_prob=0.02, person_rate=3.0, rider_rate=0.3,
        motorcycle_share=0.3, bicycle_rate=0.3, sign_prob=0.25, light_prob=0.15,
        tree_row_prob=0.45),
    style=_DELIVER_BASE)


def deliver_style(condition: str) -> AppearanceStyle:
    """Appearance of DELIVER RGB frames in one condition.

    Args:
        condition (str): One of :data:`DELIVER_CONDITIONS`.

    Returns:
        AppearanceStyle: The base DELIVER style with the condition's changes.
    """
    if condition not in _CONDITION_CHANGES:
        raise ValueError(
            f'Unknown DELIVER condition {condition!r}; expected one of {DELIVER_CONDITIONS}.')
    return dataclasses.replace(_DELIVER_BASE, **_CONDITION_CHANGES[condition])
