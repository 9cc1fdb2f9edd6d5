"""UDAVisualizationHook: panels of pseudo-labels, confidence and mixing at the right iterations."""
import copy
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.visualization import Visualizer
from mmseg.utils import get_palette

from mmseg_diffuda.engine.hooks.uda_visualization_hook import (HEADER, UDAVisualizationHook,
                                                               tile)

from ..test_uda.tiny_models import HEIGHT, WIDTH, build_model, optim_wrapper_for, uda_batch

PALETTE = get_palette('cityscapes')


def run(model, runner, hook, iterations, seed=0):
    """Train ``iterations`` iterations with the hook's before/after calls around each."""
    torch.manual_seed(seed)
    optim_wrapper = optim_wrapper_for(model, lr=1e-3)
    batches = [uda_batch(2) for _ in range(iterations)]
    for index, batch in enumerate(batches):
        runner.iter = index
        if hook is not None:
            hook.before_train_iter(runner, index, batch)
        model.train_step(copy.deepcopy(batch), optim_wrapper)
        if hook is not None:
            hook.after_train_iter(runner, index, batch)
    return batches


def make_runner(model, tmp_path, max_iters):
    visualizer = Visualizer(name=f'vis_{tmp_path.name}', save_dir=str(tmp_path),
                            vis_backends=[dict(type='LocalVisBackend')])
    visualizer.dataset_meta = dict(palette=PALETTE)
    return SimpleNamespace(model=model, iter=0, max_iters=max_iters, visualizer=visualizer)


def read_panel(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_panels_hold_the_iteration_at_the_interval(tmp_path):
    torch.manual_seed(0)
    model = build_model('DACS', pseudo_threshold=0.2)
    runner = make_runner(model, tmp_path, max_iters=3)
    hook = UDAVisualizationHook(interval=2)
    hook.before_train(runner)
    batches = run(model, runner, hook, 3)
    written = sorted(p.name for p in (tmp_path / 'vis_data' / 'vis_image').iterdir())
    assert written == ['uda_iteration_2.png', 'uda_iteration_3.png']  # interval and last
    assert model.keep_visuals is False and model.visuals == {}

    panel = read_panel(tmp_path / 'vis_data' / 'vis_image' / 'uda_iteration_3.png')
    assert panel.shape == (2 * (HEIGHT + HEADER), 3 * WIDTH, 3)
    # target tile: the input image (BGR uint8 -> RGB) after normalise / de-normalise
    target = batches[2]['target']['inputs'][0].flip(0).permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(tile(panel, 'target_image'), target)
    colours = {tuple(c) for c in PALETTE} | {(0, 0, 0)}
    for name in ('pseudo_label', 'mixed_label', 'source_prediction'):
        used = {tuple(c) for c in tile(panel, name).reshape(-1, 3)}
        assert used <= colours, name
    mask = tile(panel, 'confidence_mask')
    assert set(np.unique(mask)) <= {0, 255} and (mask[..., 0] == mask[..., 2]).all()


def test_drawing_does_not_change_training(tmp_path):
    torch.manual_seed(0)
    plain = build_model('DACS')
    drawn = copy.deepcopy(plain)
    run(plain, make_runner(plain, tmp_path / 'a', 2), None, 2)
    hook = UDAVisualizationHook(interval=1)
    run(drawn, make_runner(drawn, tmp_path / 'b', 2), hook, 2)
    assert len(list((tmp_path / 'b' / 'vis_data' / 'vis_image').iterdir())) == 2
    for (name, a), b in zip(plain.state_dict().items(), drawn.state_dict().values()):
        assert torch.equal(a, b), name


def test_source_only_panel_greys_the_target_tiles(tmp_path):
    torch.manual_seed(0)
    model = build_model('UDASegmentor', ema=None)
    runner = make_runner(model, tmp_path, max_iters=1)
    hook = UDAVisualizationHook(num_draws=10)
    hook.before_train(runner)
    assert hook.interval == 1
    run(model, runner, hook, 1)
    panel = read_panel(tmp_path / 'vis_data' / 'vis_image' / 'uda_iteration_1.png')
    assert (tile(panel, 'pseudo_label') == 128).all()
    assert not (tile(panel, 'source_prediction') == 128).all()


def test_interval_must_be_positive():
    with pytest.raises(ValueError, match='interval'):
        UDAVisualizationHook(interval=0)
