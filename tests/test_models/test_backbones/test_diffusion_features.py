"""DiffusionFeatureBackbone (DIFF): inversion bookkeeping, taps, fast == official, frozen SD."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_diffuda  # noqa: F401  (registers the models)
from mmseg_diffuda.models.backbones.diffusion_features import prompt_ids
from tests.test_models.test_backbones.sd_models import random_init
from mmseg_diffuda.models.backbones.diffusion_taps import (channels_by_stride, tap_to_map,
                                                           unet_tap_layers, unet_taps)
from mmseg_diffuda.models.utils.ddim_inversion import DIFF_SAVE_INDICES_37, DIFF_TIMESTEPS_37

REPO = Path(__file__).resolve().parents[3]
init_default_scope('mmseg')


def tiny_cfg(**overrides) -> dict:
    """The backbone of configs/_base_/models/diff_tiny.py, random weights, with ``overrides``."""
    cfg = random_init(Config.fromfile(REPO / 'configs/_base_/models/diff_tiny.py'))
    cfg.update(overrides)
    return cfg


@pytest.fixture(scope='module')
def tiny37():
    """Tiny backbone with the official 37-step schedule."""
    torch.manual_seed(0)
    return MODELS.build(tiny_cfg(scheduler_timesteps=DIFF_TIMESTEPS_37,
                                 save_indices=DIFF_SAVE_INDICES_37))


def images(batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, 64, 128, generator=generator) * 2 - 1


def labels_with(classes_per_image):
    """(B, 1, 64, 128) labels: class 0 everywhere, then a band of each listed class."""
    labels = torch.zeros(len(classes_per_image), 1, 64, 128, dtype=torch.long)
    for b, classes in enumerate(classes_per_image):
        for k, c in enumerate(classes):
            labels[b, 0, 16 * k:16 * k + 24, 32:96] = c
    return labels


class UNetCalls:
    """Records (timestep, batch, tapped) of every UNet call."""

    def __init__(self, backbone):
        self.calls = []
        probe = backbone.unet.up_blocks[3].resnets[0].conv2
        self.handle = backbone.unet.register_forward_pre_hook(
            lambda m, args: self.calls.append(
                (int(args[1]), args[0].shape[0], bool(probe._forward_hooks))))

    def __enter__(self):
        return self.calls

    def __exit__(self, *exc):
        self.handle.remove()


def set_official(backbone, official: bool):
    backbone.stop_after_last_save = not official
    backbone.skip_identical_cfg = not official


@pytest.mark.parametrize('official', [True, False])
def test_unet_evaluations_of_37_step_inversion(tiny37, official):
    set_official(tiny37, official)
    latent = tiny37.encode_latent(images())
    with UNetCalls(tiny37) as calls:
        tiny37.diffusion_features(latent)
    set_official(tiny37, False)
    timesteps = [t for t, _, _ in calls]
    expected = list(range(24)) + [26, 30, 34, 40, 45, 52, 60, 69, 80, 91, 105, 121, 139]
    assert timesteps == (expected if official else expected[:34])
    # Official: CFG batch [uncond, cond]; ours: one chunk (prompt == negative prompt == "").
    assert {b for _, b, _ in calls} == ({4} if official else {2})
    assert [t for t, _, tapped in calls if tapped] == [3, 7, 11, 14, 18, 22, 30, 52, 91]


def test_unet_evaluations_of_5_step_inversion():
    torch.manual_seed(0)
    backbone = MODELS.build(tiny_cfg())
    with UNetCalls(backbone) as calls:
        backbone(images(batch=1))
    assert [(t, tapped) for t, _, tapped in calls] == [(0, True), (1, True), (20, True),
                                                       (40, True), (60, True)]


def test_feature_channels_and_order(tiny37):
    feats = tiny37.diffusion_features(tiny37.encode_latent(images()))
    per_step = {8: 2 * 8 + 2 * 8, 16: 4 * 16, 32: 4 * 16}  # 2 ResNets + 2 attentions
    assert tiny37.channels_by_stride == per_step
    for stride, value in feats.items():
        assert value.shape == (2, per_step[stride] * 9, 64 // stride, 128 // stride)


def diff_features(backbone, official, seed, labels=None):
    set_official(backbone, official)
    torch.manual_seed(seed)
    latent = backbone.encode_latent(images())
    feats = backbone.diffusion_features(latent, labels)
    set_official(backbone, False)
    return feats


@pytest.mark.parametrize('labels', [None, labels_with([[1, 12], [3]])])
def test_early_stop_and_cfg_skip_give_the_official_features(tiny37, labels):
    official = diff_features(tiny37, True, seed=3, labels=labels)
    fast = diff_features(tiny37, False, seed=3, labels=labels)
    for stride in official:
        scale = official[stride].abs().mean()
        assert torch.allclose(fast[stride], official[stride], atol=1e-5 * float(scale) + 1e-6,
                              rtol=1e-4), stride


def test_path_control_only_acts_on_enabled_classes(tiny37):
    plain = diff_features(tiny37, False, seed=5)
    disabled = diff_features(tiny37, False, seed=5, labels=labels_with([[2, 13], [0]]))
    enabled = diff_features(tiny37, False, seed=5, labels=labels_with([[2, 14], [0]]))
    assert all(torch.equal(plain[s], disabled[s]) for s in plain)
    assert not torch.allclose(plain[8], enabled[8])
    assert tiny37.present_classes(labels_with([[2, 14], [16, 1]])) == [1, 14, 16]


def test_hooks_are_removed_after_use_and_on_errors(tiny37):
    def hooked():
        return [name for name, m in tiny37.unet.named_modules()
                if m._forward_hooks or m._forward_pre_hooks]

    tiny37(images(batch=1))
    assert hooked() == []
    block = tiny37.unet.up_blocks[1].attentions[0].transformer_blocks[0]

    def fail(module, args, kwargs=None):
        raise RuntimeError('boom')

    handle = block.register_forward_pre_hook(fail)
    with pytest.raises(RuntimeError, match='boom'):
        tiny37(images(batch=1))
    handle.remove()
    assert hooked() == []


def test_sd_weights_are_frozen_and_get_no_gradient(tiny37):
    tiny37.train()
    assert not tiny37.unet.training and not tiny37.vae.training
    out = tiny37(images())
    sum(o.mean() for o in out).backward()
    frozen = list(tiny37.unet.parameters()) + list(tiny37.vae.parameters())
    assert all(not p.requires_grad and p.grad is None for p in frozen)
    trainable = list(tiny37.aggregation.parameters()) + list(tiny37.fusion.parameters())
    assert all(p.grad is not None for p in trainable)
    assert [o.shape[1] for o in out] == tiny37.out_channels == [16, 16, 32, 32]
    assert [128 // o.shape[3] for o in out] == [4, 8, 16, 32]
    tiny37.zero_grad(set_to_none=True)


def test_sd21_taps_have_the_official_channels_per_stride():
    """The SD 2.1 UNet (built on the meta device: shapes only) tapped on a 64x64 image."""
    from diffusers import UNet2DConditionModel
    sd21 = Config.fromfile(REPO / 'configs/_base_/models/diff_sd21.py')
    unet_cfg = sd21.model.backbone.unet_config
    with torch.device('meta'):
        unet = UNet2DConditionModel.from_config(unet_cfg.to_dict())
        latent, context = torch.empty(1, 4, 8, 8), torch.empty(1, 77, 1024)
    layers = unet_tap_layers(unet, vae_scale=8)
    table = {64: 3 * 1280, 32: 3 * 1280 + 3 * 1280, 16: 3 * 640 + 3 * 640, 8: 3 * 320 + 3 * 320}
    assert channels_by_stride(layers) == table
    with unet_taps(unet, layers) as raw:
        unet(latent, torch.tensor(3, device='meta'), encoder_hidden_states=context)
    got = {}
    for layer, value in raw.items():
        feature = tap_to_map(layer, value, (8, 8), vae_scale=8)
        assert feature.shape[2:] == (64 // layer.stride, 64 // layer.stride)
        got[layer.stride] = got.get(layer.stride, 0) + feature.shape[1]
    assert got == table
    assert not any(m._forward_hooks for m in unet.modules())


def test_prompt_ids_without_tokenizer():
    from transformers import CLIPTextConfig
    config = CLIPTextConfig(vocab_size=64, max_position_embeddings=8, bos_token_id=0,
                            eos_token_id=1)
    assert prompt_ids('', None, config).tolist() == [[0, 1, 1, 1, 1, 1, 1, 1]]
    ids = prompt_ids('ab', None, config)
    assert ids.tolist() == [[0, 2 + 97 % 62, 2 + 98 % 62, 1, 1, 1, 1, 1]]


def test_bad_settings_raise_clear_errors(tiny37):
    with pytest.raises(ValueError, match='multiple of 64'):
        tiny37(torch.zeros(1, 3, 96, 128))
    with pytest.raises(ValueError, match='prediction_type'):
        MODELS.build(tiny_cfg(convert_v_prediction=True))
    with pytest.raises(ValueError, match='feature stride'):
        MODELS.build(tiny_cfg(projection_dims=(16, 32)))


def test_v_prediction_conversion_changes_eps():
    sched = dict(tiny_cfg()['scheduler_config'], prediction_type='v_prediction')
    torch.manual_seed(0)
    as_eps = MODELS.build(tiny_cfg(scheduler_config=sched))
    torch.manual_seed(0)
    as_v = MODELS.build(tiny_cfg(scheduler_config=sched, convert_v_prediction=True))
    latent = as_eps.encode_latent(images())
    torch.manual_seed(1)
    a = as_eps.diffusion_features(latent)
    torch.manual_seed(1)
    b = as_v.diffusion_features(latent)
    # Stride 8, first ResNet (8 channels per kept step, kept steps in the order t = 60, 40,
    # 20, 1, 0): the t = 0 evaluation runs on the same latent, later ones follow other eps.
    assert torch.equal(a[8][:, 32:40], b[8][:, 32:40])
    assert not torch.allclose(a[8][:, :8], b[8][:, :8])
