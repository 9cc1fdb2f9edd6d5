"""UDAVisualizationHook: panels of pseudo-labels, confidence and mixing at the right iterations."""
import copy
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.visualization import Visualizer
from mmseg.registry import MODELS
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


PSEUDO_KEYS = {'source_image', 'source_label', 'target_image', 'pseudo_label', 'confidence_mask',
               'mixed_image', 'mixed_label'}


def madm_step():
    from ..test_uda import test_madm
    model = MODELS.build(test_madm.toy_model_cfg())
    return model, test_madm.uda_batch(), OptimWrapper(torch.optim.SGD(model.parameters(), 0.0))


def iccld_step():
    from ..test_uda import test_iccld
    cfg = test_iccld.toy_cfg()
    model = test_iccld.build(cfg)
    return model, uda_batch(2), test_iccld.wrappers(model, cfg)


def lcmsm_step():
    from ..test_uda import test_lc_msm
    model = test_lc_msm.build_lcmsm()
    return model, uda_batch(2), optim_wrapper_for(model)


def crossmatch_step():
    from ..test_uda import test_crossmatch
    model = build_model('CrossMatch', random_source=True)
    return model, dict(target=test_crossmatch.depth_batch()), optim_wrapper_for(model)


@pytest.mark.parametrize('step, keys', [
    (madm_step, PSEUDO_KEYS), (iccld_step, PSEUDO_KEYS), (lcmsm_step, PSEUDO_KEYS),
    (crossmatch_step, {'target_image', 'pseudo_label', 'confidence_mask'})])
def test_every_method_keeps_its_visuals_only_when_asked(step, keys):
    torch.manual_seed(0)
    model, batch, optim_wrapper = step()
    model.train()
    model.train_step(copy.deepcopy(batch), optim_wrapper)
    assert model.visuals == {}
    model.keep_visuals = True
    model.train_step(batch, optim_wrapper)
    assert set(model.visuals) == keys
    image = model.visuals['target_image']
    assert image.dim() == 3 and image.shape[0] == 3
    assert model.visuals['pseudo_label'].shape == model.visuals['confidence_mask'].shape == \
        image.shape[1:]
    assert model.visuals['confidence_mask'].dtype == torch.bool
    if 'source_image' in keys:  # the hook's extra student pass works for every student type
        prediction = UDAVisualizationHook.source_prediction(model, model.visuals['source_image'])
        assert prediction.shape == model.visuals['source_label'].shape
