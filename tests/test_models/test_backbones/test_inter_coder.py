"""Tests of ICCLD's inter-coder connection and InterCoderDiffusionBackbone."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_diffuda.models.backbones import (ConcatConvFusion, InterCoderConnection,
                                            InterCoderDiffusionBackbone, ProjectAddFusion,
                                            StableDiffusionBackbone)

from .sd_models import REPO, images, tiny_backbone_cfg

ICCLD_TINY = REPO / 'configs/_base_/models/iccld_tiny.py'
ICCLD_SD15 = REPO / 'configs/_base_/models/iccld_sd15.py'
GN1 = dict(type='GN', num_groups=1, requires_grad=True)


def connection(fusion=dict(type='ConcatConvFusion', norm_cfg=GN1), enc_strides=(2, 4, 8)):
    """Encoder levels (3, 5, 7 ch) at ``enc_strides``; decoder taps 4/6/8 ch at 8/16/32."""
    channels = dict(zip((2, 4, 8), (3, 5, 7)))
    return InterCoderConnection([channels[s] for s in enc_strides], list(enc_strides),
                                [4, 6, 8], [8, 16, 32], fusion=fusion)


def maps(strides_channels, batch=2, size=(64, 128)):
    torch.manual_seed(1)
    return [torch.randn(batch, c, size[0] // s, size[1] // s) for s, c in strides_channels]


def iccld_backbone_cfg(path=ICCLD_TINY, **overrides) -> dict:
    cfg = Config.fromfile(path).model.backbone.to_dict()
    cfg.update(overrides)
    return cfg


# ------------------------------------------------------------------ connection
def test_fusion_shapes_per_level():
    module = connection()
    enc = maps([(2, 3), (4, 5), (8, 7)])
    dec = maps([(8, 4), (16, 6), (32, 8)])
    out = module(enc, dec)
    assert module.out_strides == [2, 4, 8, 16, 32]
    assert module.out_channels == [4, 4, 4, 6, 8]  # extensions keep the stride-8 width
    assert [tuple(x.shape) for x in out] == [(2, 4, 32, 64), (2, 4, 16, 32), (2, 4, 8, 16),
                                             (2, 6, 4, 8), (2, 8, 2, 4)]
    assert out[3] is dec[1] and out[4] is dec[2]  # taps without an encoder level pass through
    assert [type(f) for f in module.fusions] == [ConcatConvFusion] * 3
    assert [f.conv.conv.in_channels for f in module.fusions] == [4 + 3, 4 + 5, 4 + 7]


def test_zero_initialised_add_fusion_starts_as_the_plain_decoder():
    module = connection(fusion=dict(type='ProjectAddFusion'), enc_strides=(4, 8))
    enc = maps([(4, 5), (8, 7)])
    dec = maps([(8, 4), (16, 6), (32, 8)])
    out = module(enc, dec)
    assert torch.equal(out[1], dec[0])  # stride 8: dec + 0
    # stride 4: the fused stride-8 feature, bilinearly upsampled (+ 0)
    expected = F.interpolate(dec[0], size=(16, 32), mode='bilinear', align_corners=False)
    assert torch.allclose(out[0], expected)


def test_add_fusion_adds_the_projected_encoder_feature():
    fusion = ProjectAddFusion(decoder_channels=2, encoder_channels=1)
    with torch.no_grad():
        fusion.proj.weight.copy_(torch.tensor([2.0, -1.0]).view(2, 1, 1, 1))
        fusion.proj.bias.copy_(torch.tensor([0.5, 0.0]))
    dec = torch.tensor([[[[1.0]], [[3.0]]]])  # (1, 2, 1, 1)
    enc = torch.tensor([[[[4.0]]]])
    # channel 0: 1 + 2 * 4 + 0.5; channel 1: 3 - 4
    assert fusion(dec, enc).flatten().tolist() == [9.5, -1.0]


def test_concat_fusion_is_a_conv_of_the_concatenation():
    fusion = ConcatConvFusion(4, 3, norm_cfg=GN1)
    dec, enc = maps([(1, 4), (1, 3)], size=(4, 4))
    assert torch.allclose(fusion(dec, enc), fusion.conv(torch.cat([dec, enc], dim=1)))


def test_bad_connections_are_rejected():
    with pytest.raises(ValueError, match='distinct'):
        InterCoderConnection([3, 3], [8, 8], [4, 6, 8], [8, 16, 32], dict(type='ProjectAddFusion'))
    with pytest.raises(ValueError, match='neither a decoder stride'):
        InterCoderConnection([3], [12], [4, 6, 8], [8, 16, 32], dict(type='ProjectAddFusion'))


# ------------------------------------------------------------------ backbone
def test_without_inter_coder_the_backbone_is_the_plain_model():
    torch.manual_seed(0)
    plain = MODELS.build(tiny_backbone_cfg())
    torch.manual_seed(0)
    iccld = MODELS.build(tiny_backbone_cfg(type='InterCoderDiffusionBackbone', inter_coder=None))
    assert type(plain) is StableDiffusionBackbone
    assert isinstance(iccld, InterCoderDiffusionBackbone) and iccld.inter_coder is None
    plain_state, iccld_state = plain.state_dict(), iccld.state_dict()
    assert list(plain_state) == list(iccld_state)
    assert all(torch.equal(plain_state[k], iccld_state[k]) for k in plain_state)
    x = images()
    for mode in (True, False):  # no training timesteps: both use t = 0 in train and eval
        plain.train(mode), iccld.train(mode)
        expected, plain_extras = plain.forward_with_extras(x)
        feats, extras = iccld.forward_with_extras(x)
        assert all(torch.equal(a, b) for a, b in zip(expected, feats))
        assert torch.equal(extras['unet_latent'], plain_extras['unet_latent'])
        assert extras['encoder_features'] is None and len(extras['unet_features']) == 3


def test_tiny_iccld_levels_shapes_and_extras():
    torch.manual_seed(0)
    backbone = MODELS.build(iccld_backbone_cfg())
    backbone.eval()
    assert backbone.strides == [4, 8, 16, 32]
    assert backbone.feature_channels == [8, 8, 16, 16]  # extension, fused tap 8, taps 16, 32
    assert backbone.encoder_level_strides() == [4, 8]
    assert backbone.encoder_level_channels() == [8, 16]
    x = images()
    feats, extras = backbone.forward_with_extras(x)
    assert [tuple(f.shape) for f in feats] == [(2, 8, 16, 32), (2, 16, 8, 16), (2, 16, 4, 8),
                                               (2, 16, 2, 4)]
    assert [tuple(f.shape) for f in extras['encoder_features']] == [(2, 8, 16, 32),
                                                                    (2, 16, 8, 16)]
    # unet_features are the raw taps of the same pass
    taps, _ = backbone.unet_features(extras['noisy_latent'], extras['timesteps'])
    assert all(torch.allclose(a, b) for a, b in zip(taps, extras['unet_features']))
    assert extras['timesteps'].tolist() == [0, 0]
    assert backbone._pass is None  # nothing is kept after the call
    assert not backbone.vae.encoder.down_blocks[1]._forward_hooks


def test_training_timesteps_are_drawn_per_image_only_in_training():
    torch.manual_seed(0)
    backbone = MODELS.build(iccld_backbone_cfg(train_timestep_range=(30, 31)))
    backbone.train()
    steps = backbone.forward_with_extras(images(batch=8))[1]['timesteps']
    assert set(steps.tolist()) == {30, 31}  # both ends of the inclusive range, per image
    assert backbone.forward_with_extras(images(), timesteps=7)[1]['timesteps'].tolist() == [7, 7]
    backbone.eval()
    assert backbone.forward_with_extras(images())[1]['timesteps'].tolist() == [0, 0]
    with pytest.raises(ValueError, match='train_timestep_range'):
        MODELS.build(iccld_backbone_cfg(train_timestep_range=(10, 1000)))


def test_gradients_reach_the_inter_coder_and_not_the_vae():
    torch.manual_seed(0)
    backbone = MODELS.build(iccld_backbone_cfg())
    sum(f.sum() for f in backbone(images())).backward()
    assert all(p.grad is not None for p in backbone.inter_coder.parameters())
    assert all(p.grad is None for p in backbone.vae.parameters())


def test_bad_encoder_levels_are_rejected():
    with pytest.raises(ValueError, match='encoder_levels'):
        MODELS.build(iccld_backbone_cfg(inter_coder=dict(encoder_levels=(4, ))))
    with pytest.raises(KeyError, match='unknown keys'):
        MODELS.build(iccld_backbone_cfg(inter_coder=dict(encoder_levels=(1, ), levels=2)))


def test_sd15_iccld_backbone_architecture_on_meta_device():
    cfg = iccld_backbone_cfg(ICCLD_SD15, pretrained=None)  # random SD v1-5 architecture
    with torch.device('meta'):
        backbone = MODELS.build(cfg)
    assert backbone.encoder_level_channels() == [256, 512]  # SD VAE down_blocks[1], [2]
    assert backbone.strides == [4, 8, 16, 32]
    assert backbone.feature_channels == [320, 320, 640, 1280]
    feats, extras = backbone.forward_with_extras(torch.empty(2, 3, 512, 512, device='meta'))
    assert [tuple(f.shape) for f in feats] == [(2, 256, 128, 128), (2, 512, 64, 64),
                                               (2, 512, 32, 32), (2, 512, 16, 16)]
    assert tuple(extras['unet_features'][-1].shape) == (2, 1280, 16, 16)  # discriminator input
