"""Generate the toy dataset: a GTA5-format source, a Cityscapes-format target and a DELIVER-format
depth-like target drawn from one procedural street-scene distribution.

Layout written under ``out_dir`` (the paths the dataset classes and converters expect)::

    gta/images/00000.png       RGB (GTA5 layout)
    gta/labels/00000.png       'P'-mode PNG of Cityscapes label ids with the Cityscapes palette
    cityscapes/leftImg8bit/{train,val}/toycity/toycity_000000_000000_leftImg8bit.png
    cityscapes/gtFine/{train,val}/toycity/toycity_000000_000000_gtFine_labelIds.png
    cityscapes/disparity/{train,val}/toycity/toycity_000000_000000_disparity.png
    cityscapes/camera/{train,val}/toycity/toycity_000000_000000_camera.json
    deliver/{img,depth,semantic}/<cond>/{train,test}/<seq>/<frame>_<modality>_front.png
        (<modality> = rgb, depth, semantic)

Every file is a pure function of ``(seed, tree, split, index)``: each sample draws its own random
generator from ``numpy.random.SeedSequence([seed, tree, split, index])``, so the same seed gives
byte-identical files whatever the number of workers, and train, val and test never share a scene.
"""
import multiprocessing
import shutil
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from .domains import CITYSCAPES, DELIVER, DELIVER_CONDITIONS, GTA5, DomainSpec, deliver_style
from .labels import SCENE_CLASSES, label_id
from .render import render_depth_like, render_rgb
from .scene import Scene, sample_scene
from .writers import (deliver_semantic, encode_disparity, write_camera_json, write_gta_label,
                      write_grey, write_rgb)

PathLike = Union[str, Path]

#: City name of the Cityscapes-format target.
CITY = 'toycity'
#: Frames per DELIVER sequence folder.
DELIVER_SEQUENCE_LENGTH = 50


class Tree(IntEnum):
    """The three output trees (the value is part of every sample's seed)."""

    GTA5 = 0
    CITYSCAPES = 1
    DELIVER = 2


#: Domain of each tree.
DOMAINS: Dict[Tree, DomainSpec] = {
    Tree.GTA5: GTA5, Tree.CITYSCAPES: CITYSCAPES, Tree.DELIVER: DELIVER}
#: Split names of each tree; the index in the tuple is part of every sample's seed.
SPLITS: Dict[Tree, Tuple[str, ...]] = {
    Tree.GTA5: ('train',), Tree.CITYSCAPES: ('train', 'val'), Tree.DELIVER: ('train', 'test')}
#: Sub-directory of each tree under the output root.
TREE_DIRS: Dict[Tree, str] = {
    Tree.GTA5: 'gta', Tree.CITYSCAPES: 'cityscapes', Tree.DELIVER: 'deliver'}


@dataclass(frozen=True)
class _Job:
    tree: Tree
    split: str
    index: int


def _rngs(seed: int, tree: Tree, split: str, index: int) -> Tuple[np.random.Generator, ...]:
    sequence = np.random.SeedSequence([seed, int(tree), SPLITS[tree].index(split), index])
    return tuple(np.random.default_rng(child) for child in sequence.spawn(2))


def sample_toy_scene(tree: Tree, split: str, index: int, seed: int = 0, height: int = 96,
                     width: int = 192) -> Scene:
    """Re-create the scene behind one written sample (for checks and visualisation).

    Args:
        tree (Tree): Which output tree.
        split (str): Split name of that tree (see :data:`SPLITS`).
        index (int): Sample index within the split.
        seed (int): Dataset seed.
        height (int): Image height.
        width (int): Image width.

    Returns:
        Scene: The scene the sample's files were rendered from.
    """
    scene_rng, _ = _rngs(seed, tree, split, index)
    return sample_scene(scene_rng, height, width, DOMAINS[tree].layout)


def deliver_location(index: int) -> Tuple[str, str, str]:
    """Condition, sequence folder and frame name of the ``index``-th DELIVER sample of a split.

    Args:
        index (int): Sample index within the split.

    Returns:
        tuple[str, str, str]: ``(condition, sequence, frame)``; conditions cycle through
        :data:`~mmseg_diffuda.toy.domains.DELIVER_CONDITIONS`.
    """
    condition = DELIVER_CONDITIONS[index % len(DELIVER_CONDITIONS)]
    return condition, f'toymap_{index // DELIVER_SEQUENCE_LENGTH:02d}', f'{index:06d}'


def cityscapes_stem(index: int) -> str:
    """File stem ``toycity_<sequence>_000000`` of the ``index``-th Cityscapes-format sample."""
    return f'{CITY}_{index:06d}_000000'


def _write_sample(job: _Job, root: Path, seed: int, height: int, width: int) -> np.ndarray:
    """Render and write one sample; return the histogram of its Cityscapes label ids."""
    scene_rng, paint_rng = _rngs(seed, job.tree, job.split, job.index)
    spec = DOMAINS[job.tree]
    scene = sample_scene(scene_rng, height, width, spec.layout)
    if job.tree == Tree.GTA5:
        name = f'{job.index:05d}.png'
        write_rgb(root / 'gta' / 'images' / name, render_rgb(scene, spec.style, paint_rng))
        write_gta_label(root / 'gta' / 'labels' / name, scene.label)
    elif job.tree == Tree.CITYSCAPES:
        stem = cityscapes_stem(job.index)
        base = root / 'cityscapes'
        sub = Path(job.split) / CITY
        write_rgb(base / 'leftImg8bit' / sub / f'{stem}_leftImg8bit.png',
                  render_rgb(scene, spec.style, paint_rng))
        write_grey(base / 'gtFine' / sub / f'{stem}_gtFine_labelIds.png', scene.label)
        cam = scene.camera
        write_grey(base / 'disparity' / sub / f'{stem}_disparity.png',
                   encode_disparity(scene.depth, cam.baseline, cam.fx))
        write_camera_json(base / 'camera' / sub / f'{stem}_camera.json', cam)
    else:
        condition, sequence, frame = deliver_location(job.index)
        base = root / 'deliver'
        sub = Path(condition) / job.split / sequence
        write_rgb(base / 'img' / sub / f'{frame}_rgb_front.png',
                  render_rgb(scene, deliver_style(condition), paint_rng))
        write_grey(base / 'depth' / sub / f'{frame}_depth_front.png',
                   render_depth_like(scene, paint_rng))
        write_rgb(base / 'semantic' / sub / f'{frame}_semantic_front.png',
                  deliver_semantic(scene.label, scene.lane_mark))
    return np.bincount(scene.label.ravel(), minlength=256).astype(np.int64)


def _run_jobs(args: Tuple[Sequence[_Job], str, int, int, int]) -> List[Tuple[Tree, np.ndarray]]:
    jobs, root, seed, height, width = args
    return [(job.tree, _write_sample(job, Path(root), seed, height, width)) for job in jobs]


def _check_args(counts: Dict[str, int], height: int, width: int, workers: int) -> None:
    for name, value in counts.items():
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(
                f'generate_toy_dataset: {name} must be a non-negative integer, got {value!r}.')
    if height < 16 or width < 16:
        raise ValueError(f'generate_toy_dataset: height and width must be at least 16 pixels, '
                         f'got {height} x {width}.')
    if workers < 1:
        raise ValueError(f'generate_toy_dataset: workers must be >= 1, got {workers}.')


def _prepare_root(root: Path, overwrite: bool) -> None:
    existing = [
        root / d for d in TREE_DIRS.values() if (root / d).exists() and any((root / d).iterdir())
    ]
    if existing and not overwrite:
        raise FileExistsError(
            f'Toy data already exists in {", ".join(map(str, existing))}; pass overwrite=True '
            '(tools/make_toy_data.py --overwrite) to delete and regenerate these trees, or choose '
            'another output directory.')
    for path in existing:
        shutil.rmtree(path)


def _fractions(histogram: np.ndarray) -> Dict[str, float]:
    total = max(int(histogram.sum()), 1)
    return {name: round(float(histogram[label_id(name)]) / total, 5) for name in SCENE_CLASSES
            if histogram[label_id(name)] > 0}


def generate_toy_dataset(out_dir: PathLike,
                         num_source: int = 300,
                         num_target_train: int = 200,
                         num_target_val: int = 60,
                         num_deliver_train: int = 200,
                         num_deliver_test: int = 60,
                         height: int = 96,
                         width: int = 192,
                         seed: int = 0,
                         workers: int = 1,
                         overwrite: bool = False) -> dict:
    """Write the toy GTA5-format source, Cityscapes-format target and DELIVER-format depth target.

    Args:
        out_dir (PathLike): Output root (``data/toy`` in the configs).
        num_source (int): Number of GTA5-format source images.
        num_target_train (int): Number of Cityscapes-format ``train`` images.
        num_target_val (int): Number of Cityscapes-format ``val`` images.
        num_deliver_train (int): Number of DELIVER-format ``train`` frames (spread over 5
            conditions).
        num_deliver_test (int): Number of DELIVER-format ``test`` frames.
        height (int): Image height in pixels.
        width (int): Image width in pixels.
        seed (int): Dataset seed; the same seed gives byte-identical files.
        workers (int): Worker processes (the output does not depend on it).
        overwrite (bool): Delete existing ``gta``, ``cityscapes`` and ``deliver`` trees under
            ``out_dir`` first. Without it, existing non-empty trees raise :class:`FileExistsError`.

    Returns:
        dict: Summary with the output paths, the number of files per split and the pixel fraction of
        every Cityscapes class per tree.
    """
    counts = dict(num_source=num_source, num_target_train=num_target_train,
                  num_target_val=num_target_val, num_deliver_train=num_deliver_train,
                  num_deliver_test=num_deliver_test)
    _check_args(counts, height, width, workers)
    root = Path(out_dir)
    _prepare_root(root, overwrite)
    plan = ((Tree.GTA5, 'train', num_source), (Tree.CITYSCAPES, 'train', num_target_train),
            (Tree.CITYSCAPES, 'val', num_target_val), (Tree.DELIVER, 'train', num_deliver_train),
            (Tree.DELIVER, 'test', num_deliver_test))
    jobs = [_Job(tree, split, i) for tree, split, n in plan for i in range(n)]
    chunks = [jobs[k::max(workers, 1)] for k in range(workers)]
    tasks = [(chunk, str(root), seed, height, width) for chunk in chunks if chunk]
    if workers > 1 and len(tasks) > 1:
        method = 'fork' if 'fork' in multiprocessing.get_all_start_methods() else 'spawn'
        with multiprocessing.get_context(method).Pool(len(tasks)) as pool:
            results = pool.map(_run_jobs, tasks)
    else:
        results = [_run_jobs(task) for task in tasks]
    histograms = {tree: np.zeros(256, dtype=np.int64) for tree in Tree}
    for tree, hist in (item for result in results for item in result):
        histograms[tree] += hist
    return {
        'root': str(root),
        'height': height,
        'width': width,
        'seed': seed,
        'gta': {'root': str(root / 'gta'), 'images': num_source},
        'cityscapes': {
            'root': str(root / 'cityscapes'), 'city': CITY, 'train': num_target_train,
            'val': num_target_val
        },
        'deliver': {
            'root': str(root / 'deliver'), 'train': num_deliver_train, 'test': num_deliver_test,
            'conditions': list(DELIVER_CONDITIONS)
        },
        'class_pixel_fraction': {
            TREE_DIRS[tree]: _fractions(hist)
            for tree, hist in histograms.items()
        },
    }
