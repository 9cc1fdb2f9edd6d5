"""Tests of MADM: DPLG schedule, LPLR, shared-UNet teacher, one train step, configs."""
import random

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_diffuda  # noqa: F401  (registers the models)
from mmseg_diffuda.models.uda.madm import MADM, masked_latent_l1
from mmseg_diffuda.models.utils.ema import SharedModule

from .tiny_models import REPO, CountingOptimWrapper

init_default_scope('mmseg')
TOY_CONFIG = REPO / 'configs/madm/madm_tiny_toy-rgb2depth.py'
SD14_CONFIGS = {
    'deliver-depth': ('CityscapesMADM11Dataset', 11, (60, 61), 5000, 1.0, 1.0),
    'fmb-infrared': ('CityscapesMADM9Dataset', 9, (50, 51), 8000, 1.0, 1.0),
    'dsec-event': ('CityscapesMADM11Dataset', 11, (50, 51), 8000, 20.0, None),
}
SIZE = (64, 128)


def toy_model_cfg(**overrides):
    """The MADM model of the toy config (tiny random SD student), with ``overrides``."""
    cfg = Config.fromfile(TOY_CONFIG).model
    for key, value in overrides.items():  # replace (ConfigDict.update would merge dicts)
        cfg[key] = value
    return cfg


@pytest.fixture(scope='module')
def model() -> MADM:
    torch.manual_seed(0)
    model = MODELS.build(toy_model_cfg())
    model.init_weights()
    model.train()
    return model


def uda_batch(batch_size: int = 2, num_classes: int = 11) -> dict:
    """Labelled source and unlabelled target as ``pseudo_collate`` gives them."""
    def part(with_labels):
        inputs, samples = [], []
        for _ in range(batch_size):
            inputs.append(torch.randint(0, 256, (3, *SIZE), dtype=torch.uint8))
            sample = SegDataSample(metainfo=dict(img_shape=SIZE, ori_shape=SIZE))
            if with_labels:
                sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, *SIZE)))
            samples.append(sample)
        return dict(inputs=inputs, data_samples=samples)

    return dict(source=part(True), target=part(False))


# ------------------------------------------------------------------ DPLG
def test_dplg_timestep_schedule_with_fixed_k(model, monkeypatch):
    monkeypatch.setattr(model, 'dplg', dict(timestep_range=(60, 60), end_iter=100))
    # t = int(60 (1 - it / 100)) up to E, 0 afterwards
    expected = {0: 60, 25: 45, 50: 30, 99: 0, 98: 1, 100: 0, 101: 0, 5000: 0}
    assert {it: model.dplg_timestep(it) for it in expected} == expected


def test_dplg_draws_k_inclusive_and_only_up_to_end_iter(model, monkeypatch):
    monkeypatch.setattr(model, 'dplg', dict(timestep_range=(60, 61), end_iter=100))
    random.seed(3)
    draws = [random.randint(60, 61) for _ in range(50)]
    random.seed(3)
    assert [model.dplg_timestep(0) for _ in range(50)] == draws
    assert set(draws) == {60, 61}  # both ends reachable
    random.seed(3)
    assert model.dplg_timestep(50) == int(draws[0] * 0.5)
    state = random.getstate()
    assert model.dplg_timestep(100) == 0  # it = E still draws k (official it <= E) ...
    assert random.getstate() != state
    state = random.getstate()
    assert model.dplg_timestep(101) == 0
    assert random.getstate() == state  # ... after E there is no draw


def test_dplg_off_gives_timestep_zero(model, monkeypatch):
    monkeypatch.setattr(model, 'dplg', None)
    assert model.dplg_timestep(0) == 0


# ------------------------------------------------------------------ LPLR
def test_masked_l1_divides_by_the_total_element_count():
    pred = torch.zeros(1, 2, 2, 2)
    target = torch.ones(1, 2, 2, 2)
    target[0, 1, 1, 1] = 3.0  # |0 - 3| = 3 at a masked position
    mask = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]])  # (1, 1, 2, 2), broadcast over channels
    # channel 0: 1 + 1 + 1 = 3; channel 1: 1 + 1 + 3 = 5; 8 elements in all
    assert masked_latent_l1(pred, target, mask).item() == pytest.approx(8 / 8)
    mask[0, 0, 1, 1] = 0.0
    assert masked_latent_l1(pred, target, mask).item() == pytest.approx(4 / 8)


def test_latent_regression_masks_ignored_labels_and_scales(model):
    latent = torch.randn(2, 4, SIZE[0] // 8, SIZE[1] // 8)
    labels = torch.randint(0, 11, (2, 1, *SIZE))
    full = model.latent_regression(latent, labels, scale=1.0)
    assert full.item() > 0
    assert model.latent_regression(latent, labels, scale=0.5).item() == pytest.approx(
        full.item() / 2)
    ignored = torch.full_like(labels, 255)
    assert model.latent_regression(latent, ignored, scale=1.0).item() == 0
    # The left half ignored: the nearest-resized mask drops exactly the left latent columns.
    half = labels.clone()
    half[..., :SIZE[1] // 2] = 255
    backbone = model.student_module.backbone
    target = backbone.encode_latent(model.palette(half))
    mask = torch.zeros(2, 1, *latent.shape[2:])
    mask[..., latent.shape[3] // 2:] = 1
    expected = ((latent - target).abs() * mask).sum() / latent.numel()
    torch.testing.assert_close(model.latent_regression(latent, half, 1.0), expected)


# ------------------------------------------------------------------ teacher
def test_teacher_shares_the_unet_and_ema_leaves_it_untouched(model):
    student = model.student_module.backbone
    teacher = model.teacher.model.backbone
    for name in ('unet', 'vae', 'text_encoder'):
        assert isinstance(getattr(teacher, name), SharedModule)
        assert getattr(teacher, name).module is getattr(student, name)
    assert not any(key.startswith('backbone.unet') for key in model.teacher.model.state_dict())
    unet_before = {k: v.clone() for k, v in student.unet.state_dict().items()}
    proj = next(student.projections.parameters())
    teacher_proj = next(teacher.projections.parameters())
    with torch.no_grad():
        proj.add_(1.0)
    before = teacher_proj.clone()
    model.teacher.update(model.student_module, 5)  # alpha_5 = min(1 - 1/6, 0.95)
    torch.testing.assert_close(teacher_proj, before * (5 / 6) + proj.detach() / 6)
    for key, value in student.unet.state_dict().items():
        torch.testing.assert_close(value, unet_before[key])
    with torch.no_grad():
        proj.sub_(1.0)


def test_teacher_pass_uses_the_dplg_timestep(model, monkeypatch):
    seen = []
    backbone = model.student_module.backbone  # the teacher's backbone class is the same

    original = type(backbone).forward_with_extras

    def spy(self, inputs, timesteps=None):
        seen.append(timesteps)
        return original(self, inputs, timesteps)

    monkeypatch.setattr(type(backbone), 'forward_with_extras', spy)
    inputs = torch.rand(2, 3, *SIZE) * 2 - 1
    samples = [SegDataSample(metainfo=dict(img_shape=SIZE, ori_shape=SIZE)) for _ in range(2)]
    pseudo = model.pseudo_label(inputs, samples, timestep=45)
    assert seen == [45]
    assert pseudo.label.shape == (2, *SIZE)


# ------------------------------------------------------------------ train step
def test_one_train_step_backwards_two_terms_steps_once_and_logs_lplr():
    torch.manual_seed(0)
    random.seed(0)
    model = MODELS.build(toy_model_cfg())
    model.init_weights()
    model.train()
    optim = CountingOptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    unet_param = model.student.backbone.unet.conv_in.weight
    head_param = model.student.decode_head.conv_seg.weight
    unet_before, head_before = unet_param.clone(), head_param.clone()
    log_vars = model.train_step(uda_batch(), optim)
    assert optim.calls == dict(backward=2, step=1, zero_grad=1)
    for key in ('src.loss_lplr', 'mix.loss_lplr', 'src.decode.loss_ce', 'mix.decode.loss_ce',
                'dplg_timestep', 'pseudo_confidence', 'mix_ratio'):
        assert key in log_vars, key
    assert log_vars['dplg_timestep'].item() in (60, 61)  # iteration 0: t = k
    assert torch.isfinite(log_vars['loss'])
    assert int(model.local_iter) == 1
    assert not torch.equal(unet_param, unet_before)  # the UNet is trained
    assert not torch.equal(head_param, head_before)


def test_source_only_lplr_and_dplg_from_the_checkpointed_counter():
    torch.manual_seed(0)
    model = MODELS.build(toy_model_cfg(lplr=dict(
        palette='CityscapesMADM11Dataset', source_weight=20.0, target_weight=None)))
    model.train()
    model.local_iter.fill_(250)  # as restored by --resume; toy E = 500
    log_vars = model.train_step(uda_batch(), OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.0)))
    assert 'src.loss_lplr' in log_vars and 'mix.loss_lplr' not in log_vars
    assert log_vars['dplg_timestep'].item() == 30  # int(60 * 0.5) = int(61 * 0.5) = 30


def test_bad_settings_are_rejected():
    with pytest.raises(TypeError, match='LatentEncoderDecoder'):
        cfg = toy_model_cfg()
        cfg.segmentor.type = 'UDAEncoderDecoder'
        MODELS.build(cfg)
    with pytest.raises(KeyError, match='dplg'):
        MODELS.build(toy_model_cfg(dplg=dict(timestep_range=(60, 61))))
    with pytest.raises(ValueError, match='dplg'):
        MODELS.build(toy_model_cfg(dplg=dict(timestep_range=(61, 60), end_iter=10)))
    with pytest.raises(ValueError, match='source_weight'):
        MODELS.build(toy_model_cfg(lplr=dict(palette='CityscapesMADM11Dataset')))


# ------------------------------------------------------------------ configs
@pytest.mark.parametrize('benchmark', sorted(SD14_CONFIGS))
def test_sd14_configs_match_the_official_settings(benchmark):
    palette, num_classes, k_range, end_iter, w_src, w_tgt = SD14_CONFIGS[benchmark]
    cfg = Config.fromfile(REPO / f'configs/madm/madm_sd14_cityscapes2{benchmark}-512x512.py')
    model = cfg.model
    assert model.type == 'MADM' and model.segmentor.type == 'LatentEncoderDecoder'
    assert model.segmentor.backbone.type == 'StableDiffusionBackbone'
    assert model.segmentor.decode_head.num_classes == num_classes
    assert model.ema.alpha == 0.999 and 'backbone.unet' in model.ema.shared_modules
    assert model.dplg == dict(timestep_range=k_range, end_iter=end_iter)
    assert model.lplr == dict(palette=palette, source_weight=w_src, target_weight=w_tgt)
    assert model.pseudo_threshold == 0.968
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.optimizer.lr == 5e-6
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=0.01)
    assert 'custom_keys' not in cfg.optim_wrapper.paramwise_cfg  # no head lr x10
    assert cfg.train_cfg.max_iters == 10000 and cfg.train_cfg.val_interval == 1000
    assert cfg.train_dataloader.batch_size == 2
    assert MODELS.get('MADM') is MADM


def test_toy_configs_share_the_network():
    madm = Config.fromfile(TOY_CONFIG)
    source_only = Config.fromfile(REPO / 'configs/toy/source-only_madm-tiny_toy-rgb2depth.py')
    assert source_only.model.type == 'UDASegmentor' and source_only.model.ema is None
    assert source_only.model.segmentor == madm.model.segmentor
    assert source_only.optim_wrapper == madm.optim_wrapper
    assert madm.model.segmentor.decode_head.num_classes == 11
    assert madm.model.dplg.end_iter < madm.train_cfg.max_iters
