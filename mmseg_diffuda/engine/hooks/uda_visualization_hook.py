"""A training hook that draws what self-training sees: pseudo-labels, confidence, mixed images."""
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from torch import Tensor

from mmseg.registry import HOOKS

#: Panel tiles, in reading order (two rows of three): name, title.
TILES = (('target_image', 'target'), ('pseudo_label', 'teacher pseudo-label'),
         ('confidence_mask', 'confident pixels'), ('mixed_image', 'mixed image'),
         ('mixed_label', 'mixed label'), ('source_prediction', 'student on source'))
HEADER = 14  # pixel rows of each tile's title strip


@HOOKS.register_module()
class UDAVisualizationHook(Hook):
    """Every ``interval`` training iterations, draw one panel of the UDA iteration.

    The panel (two rows of three tiles, each with a title) shows the first image of the batch:
    the target image, the teacher's pseudo-label, the confident pixels (white: the pseudo-label
    counts as confident, e.g. max probability >= ``pseudo_threshold``), the mixed image and its
    mixed label, and the student's prediction on the source image. Tiles a method does not
    have (source-only training: no target; CrossMatch: no mixing) stay grey. Labels are painted
    with the dataset palette (ignored pixels black); images are de-normalised with the data
    preprocessor's mean/std.

    The tensors come from the UDA segmentor itself: the hook sets ``model.keep_visuals`` before
    an iteration it draws and reads ``model.visuals`` after it (see :class:`UDASegmentor`); the
    source prediction is one extra student forward in eval mode, with the random generators
    restored afterwards, so drawing does not change the training run.

    The panel goes to the runner's visualizer (``runner.visualizer.add_image('uda_iteration',
    panel, step=iteration)``), i.e. to every configured backend: ``LocalVisBackend`` writes
    ``<work_dir>/<timestamp>/vis_data/vis_image/uda_iteration_<iter>.png``,
    ``TensorboardVisBackend`` and ``WandbVisBackend`` log the image.

    Args:
        interval (int, optional): Draw every ``interval`` iterations (and after the last one).
            None: ``max_iters // num_draws`` (at least 1). Defaults to None.
        num_draws (int): Panels per run when ``interval`` is None. Defaults to 10.
    """

    priority = 'LOW'

    def __init__(self, interval: Optional[int] = None, num_draws: int = 10) -> None:
        if interval is not None and interval <= 0:
            raise ValueError(f'UDAVisualizationHook: interval must be positive, got {interval}.')
        if num_draws <= 0:
            raise ValueError(f'UDAVisualizationHook: num_draws must be positive, got {num_draws}.')
        self.interval = interval
        self.num_draws = num_draws

    def before_train(self, runner: Runner) -> None:
        """Derive the interval from the run length if it is not set."""
        if self.interval is None:
            self.interval = max(1, runner.max_iters // self.num_draws)

    def _model(self, runner: Runner):
        """The UDA segmentor (unwrapped), or None for models that keep no visuals."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return model if hasattr(model, 'record_visuals') else None

    def _draws(self, runner: Runner, batch_idx: int) -> bool:
        return (self.every_n_train_iters(runner, self.interval)
                or self.is_last_train_iter(runner))

    def before_train_iter(self, runner: Runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """Ask the model to keep this iteration's tensors if it is drawn."""
        model = self._model(runner)
        if model is not None:
            model.keep_visuals = self._draws(runner, batch_idx)

    def after_train_iter(self, runner: Runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Draw the panel of the kept tensors and release them."""
        model = self._model(runner)
        if model is None or not model.keep_visuals:
            return
        visuals = dict(model.visuals)
        model.keep_visuals, model.visuals = False, {}
        if 'source_image' in visuals:
            visuals['source_prediction'] = self.source_prediction(model, visuals['source_image'])
        palette = self.palette(runner, model)
        mean, std = model.data_preprocessor.mean.cpu(), model.data_preprocessor.std.cpu()
        panel = draw_panel(visuals, palette, mean, std)
        runner.visualizer.add_image('uda_iteration', panel, step=runner.iter + 1)

    @staticmethod
    def source_prediction(model, image: Tensor) -> Tensor:
        """The student's arg-max prediction on one normalised source image (H, W)."""
        network = model.student_module
        device = next(network.parameters()).device
        devices = [torch.cuda.current_device()] if device.type == 'cuda' else []
        meta = dict(img_shape=tuple(image.shape[1:]), ori_shape=tuple(image.shape[1:]),
                    pad_shape=tuple(image.shape[1:]))
        was_training = network.training
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            network.eval()
            try:
                logits = network.encode_decode(image[None].to(device), [meta])
            finally:
                network.train(was_training)
        return logits.argmax(dim=1)[0].cpu()

    @staticmethod
    def palette(runner: Runner, model) -> np.ndarray:
        """Class colours (K, 3) RGB: the dataset's palette, else fixed random colours."""
        num_classes = model.student_module.decode_head.num_classes
        meta = getattr(runner.visualizer, 'dataset_meta', None) or {}
        colours = meta.get('palette')
        if colours is not None and len(colours) >= num_classes:
            return np.asarray(colours[:num_classes], dtype=np.uint8)
        return np.random.default_rng(0).integers(0, 256, (num_classes, 3), dtype=np.uint8)


def label_to_rgb(label: Tensor, palette: np.ndarray) -> np.ndarray:
    """Paint a (H, W) label map with ``palette`` (RGB); ids outside it (ignore) are black.

    Args:
        label (Tensor): Class ids (H, W).
        palette (np.ndarray): Colours (K, 3) uint8.

    Returns:
        np.ndarray: (H, W, 3) uint8.
    """
    ids = label.long().numpy()
    rgb = np.zeros((*ids.shape, 3), np.uint8)
    valid = (ids >= 0) & (ids < len(palette))
    rgb[valid] = palette[ids[valid]]
    return rgb


def image_to_rgb(image: Tensor, mean: Tensor, std: Tensor) -> np.ndarray:
    """De-normalise a (3, H, W) network input to (H, W, 3) uint8 (channel order kept: RGB)."""
    pixels = image.float() * std.view(-1, 1, 1) + mean.view(-1, 1, 1)
    return pixels.clamp(0, 255).round().byte().permute(1, 2, 0).numpy()


def draw_panel(visuals: Dict[str, Tensor], palette: np.ndarray, mean: Tensor,
               std: Tensor) -> np.ndarray:
    """The 2 x 3 panel of :data:`TILES` (missing tiles grey), each tile under its title.

    Args:
        visuals (dict[str, Tensor]): Images (3, H, W) normalised, labels (H, W), the confidence
            mask (H, W) bool.
        palette (np.ndarray): Class colours (K, 3) uint8.
        mean (Tensor): Preprocessor mean (3, ).
        std (Tensor): Preprocessor std (3, ).

    Returns:
        np.ndarray: RGB uint8 (2 (H + HEADER), 3 W, 3).
    """
    if not visuals:
        raise ValueError('draw_panel: nothing to draw (the model kept no visuals).')
    height, width = next(iter(visuals.values())).shape[-2:]
    tiles: List[np.ndarray] = []
    for name, title in TILES:
        value = visuals.get(name)
        if value is None:
            tile = np.full((height, width, 3), 128, np.uint8)
        elif name.endswith('_image'):
            tile = image_to_rgb(value, mean, std)
        elif name == 'confidence_mask':
            tile = np.repeat(value.bool().numpy()[..., None] * np.uint8(255), 3, axis=2)
        else:
            tile = label_to_rgb(value, palette)
        header = np.zeros((HEADER, width, 3), np.uint8)
        cv2.putText(header, title, (2, HEADER - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                    (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(np.concatenate([header, tile], axis=0))
    return np.concatenate([np.concatenate(tiles[:3], axis=1),
                           np.concatenate(tiles[3:], axis=1)], axis=0)


def tile(panel: np.ndarray, name: str, titles: Sequence[str] = tuple(n for n, _ in TILES)
         ) -> np.ndarray:
    """Cut the tile ``name`` (without its title strip) out of a panel of :func:`draw_panel`.

    Args:
        panel (np.ndarray): The panel (2 (H + HEADER), 3 W, 3).
        name (str): A tile name of :data:`TILES`.
        titles (Sequence[str]): Tile names in panel order. Defaults to :data:`TILES`' names.

    Returns:
        np.ndarray: The tile (H, W, 3).
    """
    index = list(titles).index(name)
    height, width = panel.shape[0] // 2 - HEADER, panel.shape[1] // 3
    row, col = divmod(index, 3)
    top = row * (height + HEADER) + HEADER
    return panel[top:top + height, col * width:(col + 1) * width]
