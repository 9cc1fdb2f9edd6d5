"""A picture of target images, ground truth and the predictions of several runs (``make demo``)."""
import os.path as osp
from typing import Dict, List, Sequence

import cv2
import numpy as np
import torch
from mmengine.config import Config

from ..engine.hooks.uda_visualization_hook import label_to_rgb


def load_val_samples(cfg: Config, indices: Sequence[int]) -> List[Dict]:
    """Load images and ground truth of the config's test set through its own pipeline.

    The test pipeline runs without its final ``PackSegInputs``, so each sample holds the image as
    the model reads it (``img``) and the label in the model's class ids (``gt_seg_map``).

    Args:
        cfg (Config): A training config (its ``test_dataloader``).
        indices (Sequence[int]): Sample indices.

    Returns:
        list[dict]: ``img`` (H, W, 3 BGR uint8), ``gt_seg_map`` (H, W), ``img_path``.
    """
    import mmseg_diffuda  # noqa: F401  (registers the datasets and transforms)
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg['pipeline'] = [t for t in dataset_cfg['pipeline'] if t['type'] != 'PackSegInputs']
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = DATASETS.build(dataset_cfg)
        return [dataset[i] for i in indices if i < len(dataset)]


def prediction_figure(cfg: Config, prediction_dirs: Dict[str, str], out_file: str,
                      num_images: int = 4) -> np.ndarray:
    """Write rows of (target image, ground truth, one prediction per run) side by side.

    Args:
        cfg (Config): The config whose test set was predicted.
        prediction_dirs (dict[str, str]): Run name -> folder of predicted label PNGs, as
            ``tools/test.py --out`` writes them (``<image stem>.png``).
        out_file (str): Output PNG.
        num_images (int): Rows (the first images of the test set).

    Returns:
        np.ndarray: The RGB figure.
    """
    samples = load_val_samples(cfg, range(num_images))
    from mmseg.registry import DATASETS
    palette = np.asarray(DATASETS.get(cfg.test_dataloader.dataset.type).METAINFO['palette'],
                         dtype=np.uint8)
    rows = []
    for sample in samples:
        stem = osp.splitext(osp.basename(sample['img_path']))[0]
        tiles = [cv2.cvtColor(sample['img'], cv2.COLOR_BGR2RGB),
                 label_to_rgb(torch.as_tensor(sample['gt_seg_map']), palette)]
        for folder in prediction_dirs.values():
            pred = cv2.imread(osp.join(folder, f'{stem}.png'), cv2.IMREAD_UNCHANGED)
            if pred is None:
                raise FileNotFoundError(f'No prediction {stem}.png in {folder}: run tools/test.py '
                                        f'with --out {folder} first.')
            tiles.append(label_to_rgb(torch.as_tensor(pred), palette))
        rows.append(np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=255)
                                    for t in tiles], axis=1))
    figure = np.concatenate(rows, axis=0)
    header = np.full((18, figure.shape[1], 3), 255, dtype=np.uint8)
    width = samples[0]['img'].shape[1] + 4
    for i, title in enumerate(['target image', 'ground truth', *prediction_dirs]):
        cv2.putText(header, title[:30], (i * width + 4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                    (0, 0, 0), 1, cv2.LINE_AA)
    figure = np.concatenate([header, figure], axis=0)
    cv2.imwrite(out_file, cv2.cvtColor(figure, cv2.COLOR_RGB2BGR))
    return figure
