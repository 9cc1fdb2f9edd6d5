"""The DAFormer / MIC configs build the models they promise; full size runs on a small input."""
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import METRICS, MODELS

from mmseg_diffuda.models.uda import DACS, UDAEncoderDecoder, UDASegmentor

from .tiny_models import REPO, make_batch, optim_wrapper_for

THINGS = [6, 7, 11, 12, 13, 14, 15, 16, 17, 18]
FULL_SIZE = [
    ('configs/daformer/daformer_mitb5_gta2cs-512x512.py', False),
    ('configs/daformer/daformer_mitb5_synthia2cs-512x512.py', False),
    ('configs/mic/mic_daformer_mitb5_gta2cs-512x512.py', True),
    ('configs/mic/mic_daformer_mitb5_synthia2cs-512x512.py', True),
]


@pytest.mark.parametrize('path, with_mic', FULL_SIZE)
def test_full_size_config_builds_daformer_settings(path, with_mic):
    cfg = Config.fromfile(REPO / path)
    assert cfg.model_wrapper_cfg.type == 'MMSeparateDistributedDataParallel'
    model = MODELS.build(cfg.model)  # random weights: init_weights would load the MiT-B5 file
    assert isinstance(model, DACS) and isinstance(model.student, UDAEncoderDecoder)
    assert model.teacher.alpha == 0.999
    assert (model.pseudo_threshold, model.pseudo_ignore_top, model.pseudo_ignore_bottom) == (
        0.968, 15, 120)
    assert model.fd_cfg == dict(loss_weight=0.005, thing_classes=THINGS, min_ratio=0.75)
    assert model.student.backbone.embed_dims == 64 and len(model.student.backbone.layers) == 4
    student_params = sum(p.numel() for p in model.student.parameters())
    assert 84e6 < student_params < 86e6  # MiT-B5 (81.4M) + DAFormer head (3.7M)
    assert sum(p.numel() for p in model.teacher.parameters()) == student_params
    if with_mic:
        assert (model.masking.block_size, model.masking.mask_ratio) == (32, 0.7)
        assert model.mask_loss_weight == 1.0
        assert model.mask_strong_aug.blur_sigma_per_image is False
    else:
        assert model.masking is None
    if 'synthia' in path:
        metric = METRICS.build(cfg.val_evaluator)
        assert set(metric.subsets) == {'mIoU16', 'mIoU13'}
        assert len(metric.subsets['mIoU16']) == 16 and len(metric.subsets['mIoU13']) == 13


def test_toy_configs_share_the_network_and_schedule():
    cfgs = {name: Config.fromfile(REPO / f'configs/toy/{name}_mitb0-tiny_toy.py')
            for name in ('source-only', 'daformer', 'mic')}
    schedules = {(c.train_cfg.max_iters, c.optim_wrapper.optimizer.lr) for c in cfgs.values()}
    assert len(schedules) == 1
    assert len({str(c.model.segmentor) for c in cfgs.values()}) == 1
    models = {name: MODELS.build(cfg.model) for name, cfg in cfgs.items()}
    assert type(models['source-only']) is UDASegmentor and models['source-only'].teacher is None
    assert models['daformer'].masking is None and models['daformer'].teacher.alpha == 0.99
    assert models['mic'].masking.block_size == 8
    assert models['daformer'].pseudo_ignore_bottom == models['mic'].pseudo_ignore_bottom == 15


def test_full_size_mic_trains_one_iteration_on_a_small_input():
    torch.manual_seed(0)
    cfg = Config.fromfile(REPO / 'configs/mic/mic_daformer_mitb5_gta2cs-512x512.py')
    cfg.model.data_preprocessor = dict(cfg.model.segmentor.data_preprocessor, size=(64, 64))
    cfg.model.pseudo_ignore_bottom = 8  # 120 rows do not fit a 64-row crop
    model = MODELS.build(cfg.model)
    model.train()
    batch = dict(source=make_batch(1, size=(64, 64)),
                 target=make_batch(1, with_labels=False, size=(64, 64)))
    optim_wrapper = optim_wrapper_for(model, lr=6e-5)
    log_vars = model.train_step(batch, optim_wrapper)
    assert optim_wrapper.calls == dict(backward=3, step=1, zero_grad=1)
    assert all(torch.isfinite(v) for v in log_vars.values())
