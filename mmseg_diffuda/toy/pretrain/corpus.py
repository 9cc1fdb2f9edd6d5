"""Label-free pretraining corpus: the toy analogue of web-scale image/caption data.

The toy foundation models (:mod:`mmseg_diffuda.toy.pretrain`) are pretrained on procedural street
scenes drawn from the same scene generator as the benchmark trees, but

* from **other seeds**: every corpus sample seeds its generators from
  ``SeedSequence([seed, CORPUS_TREE, style, index])`` with ``CORPUS_TREE = 100``, while the
  benchmark trees use ``SeedSequence([seed, tree, split, index])`` with ``tree`` in 0..2
  (:mod:`mmseg_diffuda.toy.generate`), so no corpus scene is a benchmark scene;
* in **many appearance styles and modalities** (game-like and photo-like RGB, five weathers,
  grayscale, depth-like, thermal-like, event-like), each with scenes of all three layout
  distributions, as web data covers far more than one benchmark's look;
* with **captions instead of labels**: a sentence naming the style and the classes present
  ("a depth map of a street with buildings, trees, a car and two persons"), as LAION captions name
  what a photo shows. No segmentation mask leaves this module; the image-level tags of a caption
  (classes present, style) are the only supervision the pretraining objectives use.
"""
import dataclasses
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np

from ..domains import CITYSCAPES, DELIVER, GTA5, deliver_style
from ..labels import ID
from ..layout import LayoutParams
from ..render import AppearanceStyle, render_depth_like, render_rgb, smooth_noise
from ..scene import Scene, sample_scene

#: Seed-sequence slot of the corpus; the benchmark trees use 0 (GTA5), 1 (Cityscapes), 2 (DELIVER).
CORPUS_TREE = 100

#: The 19 Cityscapes training classes in trainId order (the multi-label tags of the corpus).
TAG_CLASSES: Tuple[str, ...] = (
    'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign',
    'vegetation', 'terrain', 'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train',
    'motorcycle', 'bicycle')

#: Countable classes: a caption says how many instances are visible.
THING_CLASSES: Tuple[str, ...] = ('person', 'rider', 'car', 'truck', 'bus', 'motorcycle',
                                  'bicycle')
#: Plural and caption nouns of the classes.
_NOUNS: Dict[str, Tuple[str, str]] = {
    'road': ('a road', 'a road'), 'sidewalk': ('a sidewalk', 'sidewalks'),
    'building': ('a building', 'buildings'), 'wall': ('a wall', 'walls'),
    'fence': ('a fence', 'fences'), 'pole': ('a pole', 'poles'),
    'traffic light': ('a traffic light', 'traffic lights'),
    'traffic sign': ('a traffic sign', 'traffic signs'), 'vegetation': ('trees', 'trees'),
    'terrain': ('grass', 'grass'), 'sky': ('the sky', 'the sky'),
    'person': ('a person', 'persons'), 'rider': ('a rider', 'riders'), 'car': ('a car', 'cars'),
    'truck': ('a truck', 'trucks'), 'bus': ('a bus', 'buses'),
    'motorcycle': ('a motorcycle', 'motorcycles'), 'bicycle': ('a bicycle', 'bicycles')}
_NUMBERS = ('no', 'one', 'two', 'three', 'four', 'five', 'many')
#: How text names each class, as web captions call a person a pedestrian or a bicycle a bike: the
#: corpus caption's noun, the Cityscapes name and common synonyms, as noun phrases (LC-MSM's
#: prompts say "pedestrian", "driver", "motorbike" and "bike").
CLASS_PHRASES: Dict[str, Tuple[str, ...]] = {
    'road': ('a road', 'a street'), 'sidewalk': ('a sidewalk', 'a pavement'),
    'building': ('a building', 'a house'), 'wall': ('a wall', ), 'fence': ('a fence', ),
    'pole': ('a pole', 'a post'), 'traffic light': ('a traffic light', 'a signal light'),
    'traffic sign': ('a traffic sign', 'a road sign'),
    'vegetation': ('trees', 'vegetation', 'a tree'), 'terrain': ('grass', 'terrain', 'a lawn'),
    'sky': ('the sky', ), 'person': ('a person', 'a pedestrian', 'a man', 'a woman'),
    'rider': ('a rider', 'a driver', 'a cyclist'), 'car': ('a car', 'an automobile'),
    'truck': ('a truck', 'a lorry'), 'bus': ('a bus', 'a coach'), 'train': ('a train', 'a tram'),
    'motorcycle': ('a motorcycle', 'a motorbike', 'a scooter'),
    'bicycle': ('a bicycle', 'a bike')}
#: A stuff class is named in a caption when it covers at least this share of the image.
MIN_STUFF_FRACTION = 0.01
#: A thing instance is counted when at least this many of its pixels are visible.
MIN_INSTANCE_PIXELS = 12


def _rgb(style: AppearanceStyle) -> Callable[[Scene, np.random.Generator], np.ndarray]:
    return lambda scene, rng: render_rgb(scene, style, rng)


def _grey(style: AppearanceStyle) -> Callable[[Scene, np.random.Generator], np.ndarray]:
    def render(scene: Scene, rng: np.random.Generator) -> np.ndarray:
        return cv2.cvtColor(render_rgb(scene, style, rng), cv2.COLOR_RGB2GRAY)
    return render


#: Relative heat of each class in the thermal-like style (people > engines > sun-warmed ground >
#: facades > vegetation > sky), as long-wave infrared sees a street (FMB, Liu et al., ICCV 2023).
_HEAT: Dict[str, float] = {
    'person': 0.95, 'rider': 0.9, 'car': 0.7, 'truck': 0.68, 'bus': 0.66, 'motorcycle': 0.75,
    'bicycle': 0.45, 'road': 0.55, 'sidewalk': 0.5, 'building': 0.42, 'wall': 0.44,
    'fence': 0.4, 'pole': 0.38, 'traffic light': 0.5, 'traffic sign': 0.36, 'vegetation': 0.3,
    'terrain': 0.34, 'sky': 0.05, 'ego vehicle': 0.6}


def render_thermal_like(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """Single-channel thermal-like image: per-class heat, per-instance spread, blur and noise.

    Args:
        scene (Scene): The scene.
        rng (np.random.Generator): Random generator.

    Returns:
        np.ndarray: uint8 image of shape (H, W).
    """
    lut = np.zeros(256, dtype=np.float32)
    for name, heat in _HEAT.items():
        lut[ID[name]] = heat
    heat = lut[scene.label]
    n_inst = int(scene.instance.max()) + 2
    offsets = rng.normal(0.0, 0.05, n_inst).astype(np.float32)
    heat = heat + offsets[scene.instance + 1]
    h, w = heat.shape
    heat = heat + 0.06 * (smooth_noise(rng, h, w, 6) - 0.5)
    heat = cv2.GaussianBlur(heat, (0, 0), 1.0)
    heat = heat + rng.normal(0.0, 0.02, heat.shape).astype(np.float32)
    return np.clip(np.round(heat * 255.0), 0, 255).astype(np.uint8)


def render_event_like(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """Event-camera-like frame: signed log-brightness changes of a small ego motion.

    The scene is painted once, then again after a 1-2 pixel shift with a slight zoom (the car moves
    forward); pixels whose log intensity changes by more than a threshold fire an ON (bright) or OFF
    (dark) event on a mid-grey background, as accumulated event frames look (DSEC, Gehrig et al.,
    RA-L 2021).

    Args:
        scene (Scene): The scene.
        rng (np.random.Generator): Random generator.

    Returns:
        np.ndarray: uint8 image of shape (H, W).
    """
    grey = cv2.cvtColor(render_rgb(scene, GTA5.style, rng), cv2.COLOR_RGB2GRAY)
    log = np.log1p(grey.astype(np.float32))
    h, w = grey.shape
    zoom = 1.0 + rng.uniform(0.01, 0.03)
    shift = rng.uniform(-1.5, 1.5)
    matrix = cv2.getRotationMatrix2D((w / 2, h * 0.45), 0.0, zoom)
    matrix[0, 2] += shift
    moved = cv2.warpAffine(log, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
    change = moved - log
    threshold = 0.15
    frame = np.full((h, w), 128, dtype=np.uint8)
    frame[change > threshold] = 230
    frame[change < -threshold] = 25
    noise = rng.random((h, w)) < 0.003  # background activity
    frame[noise] = rng.choice(np.array([25, 230], dtype=np.uint8), int(noise.sum()))
    return frame


@dataclass(frozen=True)
class CorpusStyle:
    """One appearance style or modality of the corpus.

    Args:
        name (str): Short name (also the style tag of image-level pretraining).
        phrase (str): How a caption names an image of this style.
        render (Callable): ``render(scene, rng) -> uint8 (H, W, 3) or (H, W)`` image.
    """

    name: str
    phrase: str
    render: Callable[[Scene, np.random.Generator], np.ndarray]


#: The corpus styles, in style-tag order.
CORPUS_STYLES: Tuple[CorpusStyle, ...] = (
    CorpusStyle('game', 'video game screenshot', _rgb(GTA5.style)),
    CorpusStyle('photo', 'photo', _rgb(CITYSCAPES.style)),
    CorpusStyle('cloudy', 'photo on a cloudy day', _rgb(deliver_style('cloud'))),
    CorpusStyle('foggy', 'photo on a foggy day', _rgb(deliver_style('fog'))),
    CorpusStyle('night', 'photo at night', _rgb(deliver_style('night'))),
    CorpusStyle('rainy', 'photo on a rainy day', _rgb(deliver_style('rain'))),
    CorpusStyle('sunny', 'photo on a sunny day', _rgb(deliver_style('sun'))),
    CorpusStyle('grayscale', 'grayscale photo', _grey(dataclasses.replace(
        CITYSCAPES.style, saturation=1.0))),
    CorpusStyle('depth', 'depth map', render_depth_like),
    CorpusStyle('thermal', 'thermal image', render_thermal_like),
    CorpusStyle('event', 'event camera frame', render_event_like),
)
#: Scene layout distributions the corpus draws from (all three toy domains).
CORPUS_LAYOUTS: Tuple[LayoutParams, ...] = (GTA5.layout, CITYSCAPES.layout, DELIVER.layout)


@dataclass
class CorpusSample:
    """One corpus image with its caption and image-level tags (no mask).

    Args:
        image (np.ndarray): uint8 RGB image (H, W, 3); single-channel styles are repeated to three
            channels, as the modality datasets load them.
        caption (str): The caption.
        style (int): Index into :data:`CORPUS_STYLES`.
        tags (np.ndarray): float32 (19,) multi-hot of the :data:`TAG_CLASSES` named by the caption.
    """

    image: np.ndarray
    caption: str
    style: int
    tags: np.ndarray


def _join(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ', '.join(items[:-1]) + ' and ' + items[-1]


def describe(scene: Scene) -> Tuple[List[str], Dict[str, int]]:
    """Classes a caption names: visible stuff classes and the count of visible thing instances.

    Args:
        scene (Scene): The scene.

    Returns:
        tuple[list[str], dict[str, int]]: Stuff classes covering at least
        :data:`MIN_STUFF_FRACTION` of the image (in :data:`TAG_CLASSES` order, sky excluded) and
        the number of instances of each thing class with at least :data:`MIN_INSTANCE_PIXELS`
        visible pixels.
    """
    total = scene.label.size
    hist = np.bincount(scene.label.ravel(), minlength=256)
    stuff = [name for name in TAG_CLASSES
             if name not in THING_CLASSES and name in ID and name != 'sky'
             and hist[ID[name]] >= MIN_STUFF_FRACTION * total]
    inst, counts = np.unique(scene.instance[scene.instance >= 0], return_counts=True)
    things: Dict[str, int] = {}
    for i, c in zip(inst, counts):
        if c < MIN_INSTANCE_PIXELS:
            continue
        label = int(scene.instance_labels[i])
        for name in THING_CLASSES:
            if label == ID[name]:
                things[name] = things.get(name, 0) + 1
    return stuff, things


def with_article(phrase: str) -> str:
    """``phrase`` with its indefinite article: "an event camera frame", "a depth map"."""
    return f'{"an" if phrase[0] in "aeiou" else "a"} {phrase}'


def caption(style: CorpusStyle, stuff: Sequence[str], things: Dict[str, int]) -> str:
    """``"a <style phrase> of a street with <classes>"``.

    Args:
        style (CorpusStyle): The image's style.
        stuff (Sequence[str]): Stuff classes present (road is implied by "street").
        things (dict[str, int]): Thing class -> visible instance count.

    Returns:
        str: The caption, e.g. ``"a depth map of a street with buildings, trees, a car and two
        persons"``.
    """
    parts = [_NOUNS[name][1] for name in stuff if name != 'road']
    for name in THING_CLASSES:
        n = things.get(name, 0)
        if n == 1:
            parts.append(_NOUNS[name][0])
        elif n > 1:
            parts.append(f'{_NUMBERS[min(n, len(_NUMBERS) - 1)]} {_NOUNS[name][1]}')
    text = f'{with_article(style.phrase)} of a street'
    return f'{text} with {_join(parts)}' if parts else text


def short_caption(style: int, tags: np.ndarray, rng: np.random.Generator) -> str:
    """A short caption naming the style and one class the image shows (e.g. "a photo of a bike").

    Web captions are often a few words about one object rather than a list of everything in the
    picture; from such captions CLIP can learn what a single noun means. The class is drawn
    uniformly from the image's tags (so rare classes are named as often as common ones when
    present) and called by one of its :data:`CLASS_PHRASES`, drawn uniformly.

    Args:
        style (int): Index into :data:`CORPUS_STYLES`.
        tags (np.ndarray): The image's (19,) multi-hot :data:`TAG_CLASSES` tags.
        rng (np.random.Generator): Random generator.

    Returns:
        str: ``"a <style phrase> of <class phrase>"``; without tags, ``"a <style phrase> of a
        street"``.
    """
    text = with_article(CORPUS_STYLES[style].phrase)
    present = np.flatnonzero(tags > 0)
    if len(present) == 0:
        return f'{text} of a street'
    phrases = CLASS_PHRASES[TAG_CLASSES[int(rng.choice(present))]]
    return f'{text} of {phrases[int(rng.integers(len(phrases)))]}'


def corpus_seed_entropy(seed: int, style: int, index: int) -> Tuple[int, int, int, int]:
    """Seed-sequence entropy of one corpus sample (disjoint from the benchmark trees').

    Args:
        seed (int): Corpus seed.
        style (int): Style index.
        index (int): Sample index within the style.

    Returns:
        tuple[int, int, int, int]: ``(seed, CORPUS_TREE, style, index)``.
    """
    return (seed, CORPUS_TREE, style, index)


def corpus_sample(style: int, index: int, seed: int = 0, height: int = 96,
                  width: int = 192) -> CorpusSample:
    """Render one corpus sample (a pure function of its arguments).

    Args:
        style (int): Index into :data:`CORPUS_STYLES`.
        index (int): Sample index within the style.
        seed (int): Corpus seed.
        height (int): Image height.
        width (int): Image width.

    Returns:
        CorpusSample: The image, caption, style and tags.
    """
    sequence = np.random.SeedSequence(list(corpus_seed_entropy(seed, style, index)))
    scene_rng, paint_rng = (np.random.default_rng(s) for s in sequence.spawn(2))
    layout = CORPUS_LAYOUTS[index % len(CORPUS_LAYOUTS)]
    scene = sample_scene(scene_rng, height, width, layout)
    spec = CORPUS_STYLES[style]
    image = spec.render(scene, paint_rng)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    stuff, things = describe(scene)
    tags = np.zeros(len(TAG_CLASSES), dtype=np.float32)
    for name in list(stuff) + list(things):
        tags[TAG_CLASSES.index(name)] = 1.0
    return CorpusSample(image, caption(spec, stuff, things), style, tags)


@dataclass
class Corpus:
    """A corpus held in memory as arrays.

    Args:
        images (np.ndarray): uint8 (N, H, W, 3) RGB images.
        captions (list[str]): N captions.
        styles (np.ndarray): int64 (N,) style indices.
        tags (np.ndarray): float32 (N, 19) multi-hot class tags.
    """

    images: np.ndarray
    captions: List[str]
    styles: np.ndarray
    tags: np.ndarray

    def __len__(self) -> int:
        return len(self.captions)


def make_corpus(per_style: int, seed: int = 0, height: int = 96, width: int = 192,
                styles: Sequence[int] = None, progress: bool = False) -> Corpus:
    """Render ``per_style`` samples of every style (deterministic for ``seed``).

    Args:
        per_style (int): Samples per style.
        seed (int): Corpus seed.
        height (int): Image height.
        width (int): Image width.
        styles (Sequence[int], optional): Style indices (default: all of :data:`CORPUS_STYLES`).
        progress (bool): Show a progress bar.

    Returns:
        Corpus: The samples, style-major.
    """
    if per_style < 1:
        raise ValueError(f'make_corpus: per_style must be >= 1, got {per_style}.')
    styles = range(len(CORPUS_STYLES)) if styles is None else styles
    jobs = [(s, i) for s in styles for i in range(per_style)]
    if progress:
        from tqdm import tqdm
        jobs = tqdm(jobs, desc='corpus', unit='img', leave=False)
    samples = [corpus_sample(s, i, seed, height, width) for s, i in jobs]
    return Corpus(
        images=np.stack([s.image for s in samples]),
        captions=[s.caption for s in samples],
        styles=np.array([s.style for s in samples], dtype=np.int64),
        tags=np.stack([s.tags for s in samples]))
