import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_diffuda.models.backbones import StableDiffusionBackbone
from mmseg_diffuda.models.backbones.stable_diffusion import (BottleneckProjection,
                                                             empty_prompt_ids, shared_noise)
from mmseg_diffuda.models.utils import EMATeacher
from mmseg_diffuda.models.utils.ema import SharedModule

from .sd_models import HEIGHT, SD14_CONFIG, WIDTH, build_tiny, images, model_cfg

SHARED = ['backbone.unet', 'backbone.vae', 'backbone.text_encoder']


@pytest.fixture(scope='module')
def tiny():
    """A tiny backbone for tests that do not change it."""
    return build_tiny()


def hook_count(module):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in module.modules())


def seg_samples(batch=2):
    samples = []
    for _ in range(batch):
        sample = SegDataSample(metainfo=dict(img_shape=(HEIGHT, WIDTH), ori_shape=(HEIGHT, WIDTH)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, HEIGHT, WIDTH)))
        samples.append(sample)
    return samples


# ---------------------------------------------------------------- shapes
def test_tiny_features_are_ordered_by_stride(tiny):
    assert isinstance(tiny, StableDiffusionBackbone)
    feats, extras = tiny.forward_with_extras(images())
    assert [tuple(f.shape) for f in feats] == [(2, 8, 64, 128), (2, 16, 8, 16), (2, 16, 4, 8),
                                               (2, 16, 2, 4)]
    assert tiny.strides == [1, 8, 16, 32]
    assert tiny.feature_channels == [3, 8, 16, 16]  # RGB s0, then block_out_channels[:3]
    assert tiny.size_divisor == 64
    assert extras['latent'].shape == extras['unet_latent'].shape == (2, 4, 8, 16)
    assert extras['decoded'].shape == (2, 3, 64, 128)
    taps, _ = tiny.unet_features(extras['noisy_latent'], extras['timesteps'])
    assert [tuple(t.shape) for t in taps] == [(2, 8, 8, 16), (2, 16, 4, 8), (2, 16, 2, 4)]
    # forward() is what EncoderDecoder.extract_feat calls: the same features, as a list
    plain = tiny(images())
    assert isinstance(plain, list)
    assert all(torch.equal(a, b) for a, b in zip(plain, feats))


def test_without_decoded_feature_the_head_gets_three_levels():
    backbone = build_tiny(use_decoded_feature=False, projection_dims=(16, 16, 16))
    feats, extras = backbone.forward_with_extras(images())
    assert [tuple(f.shape) for f in feats] == [(2, 16, 8, 16), (2, 16, 4, 8), (2, 16, 2, 4)]
    assert backbone.strides == [8, 16, 32]
    assert extras['decoded'] is None
    with pytest.raises(ValueError, match='projection_dims has 4 entries'):
        build_tiny(use_decoded_feature=False)


def test_sd14_config_architecture_on_meta_device():
    cfg = model_cfg(SD14_CONFIG)
    cfg.backbone.pretrained = None  # random SD v1-4 architecture from the config dicts
    with torch.device('meta'):
        model = MODELS.build(cfg)
    backbone = model.backbone
    counts = [sum(p.numel() for p in m.parameters())
              for m in (backbone.unet, backbone.vae, backbone.text_encoder)]
    assert counts == [859_520_964, 83_653_863, 123_060_480]  # SD v1-4 UNet, VAE, CLIP-L text
    assert backbone.time_embed_dim == 1280
    assert backbone.empty_prompt_embedding.shape == (1, 77, 768)
    assert backbone.prompt.alpha_cond_time.shape == (1280, )
    assert backbone.feature_channels == [3, 320, 640, 1280]  # official feature_dims
    # a 256x512 input is resized to MADM's 512x512 backbone input
    feats, extras = backbone.forward_with_extras(torch.empty(2, 3, 256, 512, device='meta'))
    assert [tuple(f.shape) for f in feats] == [(2, 128, 512, 512), (2, 512, 64, 64),
                                               (2, 512, 32, 32), (2, 512, 16, 16)]
    assert extras['unet_latent'].shape == (2, 4, 64, 64)
    taps, _ = backbone.unet_features(extras['noisy_latent'], extras['timesteps'])
    assert [tuple(t.shape) for t in taps] == [(2, 320, 64, 64), (2, 640, 32, 32),
                                              (2, 1280, 16, 16)]
    assert model.decode_head(feats).shape == (2, 19, 512, 512)
    assert hook_count(backbone.unet) == 0


@pytest.mark.slow
def test_sd14_architecture_with_random_weights_on_a_small_input():
    """The full SD v1-4 backbone, real (random) tensors, a 64x64 input (8x8 latent)."""
    cfg = model_cfg(SD14_CONFIG)
    cfg.backbone.pretrained = None
    cfg.backbone.input_size = None  # keep the small input (the config resizes to 512x512)
    torch.manual_seed(0)
    backbone = MODELS.build(cfg.backbone)
    x = images(1, 64, 64)
    with torch.no_grad():
        feats, extras = backbone.forward_with_extras(x)
        other, _ = backbone.forward_with_extras(images(1, 64, 64, seed=1))
    assert backbone.strides == [1, 8, 16, 32]
    assert [tuple(f.shape) for f in feats] == [(1, 128, 64, 64), (1, 512, 8, 8), (1, 512, 4, 4),
                                               (1, 512, 2, 2)]
    assert extras['latent'].shape == extras['unet_latent'].shape == (1, 4, 8, 8)
    assert extras['decoded'].shape == (1, 3, 64, 64)
    assert all(torch.isfinite(f).all() for f in feats)
    assert all(not torch.allclose(a, b) for a, b in zip(feats, other))  # input-dependent


# ---------------------------------------------------------------- latent and noise
def test_latent_is_the_scaled_posterior_mean(tiny):
    x = images()
    _, extras = tiny.forward_with_extras(x)
    expected = tiny.vae.encode(x).latent_dist.mean * tiny.vae.config.scaling_factor
    assert torch.allclose(extras['latent'], expected, atol=1e-6)
    assert not extras['latent'].requires_grad


def test_shared_noise_is_seeded_shared_and_not_saved(tiny):
    expected = torch.randn(1, 4, 64, 64, generator=torch.Generator().manual_seed(42))
    assert torch.equal(tiny.shared_noise, expected)
    assert torch.equal(build_tiny(seed=1).shared_noise, expected)  # any instance
    tiny(images())
    assert torch.equal(tiny.shared_noise, expected)  # calls leave it alone
    assert 'shared_noise' not in tiny.state_dict()
    assert 'empty_prompt_embedding' in tiny.state_dict()
    rng = torch.get_rng_state()
    shared_noise(4, (64, 64), 42)
    assert torch.equal(torch.get_rng_state(), rng)  # private generator


def test_noise_is_ddpm_add_noise_of_the_resized_shared_noise(tiny):
    _, extras = tiny.forward_with_extras(images(), timesteps=torch.tensor([0, 500]))
    latent, noisy = extras['latent'], extras['noisy_latent']
    eps = F.interpolate(tiny.shared_noise, size=(8, 16), mode='bicubic', align_corners=False)
    # SD's scaled-linear schedule: beta_t = linspace(sqrt(0.00085), sqrt(0.012), 1000)_t ** 2
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64)**2
    alpha_bar = torch.cumprod(1 - betas, 0)
    assert math.isclose(alpha_bar[0].item(), 1 - 0.00085, rel_tol=1e-12)
    for index, step in enumerate([0, 500]):
        a = alpha_bar[step].item()
        expected = math.sqrt(a) * latent[index] + math.sqrt(1 - a) * eps[0]
        assert torch.allclose(noisy[index], expected, atol=1e-5)
    # even t = 0 (the default) adds the alpha_bar_0 noise
    assert not torch.allclose(noisy[0], latent[0], atol=1e-3)
    _, default = tiny.forward_with_extras(images())
    assert torch.equal(default['timesteps'], torch.tensor([0, 0]))
    assert torch.allclose(default['noisy_latent'][0], noisy[0])


def test_timestep_changes_features_and_is_validated(tiny):
    clean = tiny(images())
    noisy = tiny(images(), timesteps=500)
    assert not torch.allclose(clean[1], noisy[1])
    with pytest.raises(ValueError, match=r'\[0, 1000\)'):
        tiny(images(), timesteps=1000)
    with pytest.raises(ValueError, match='one per image'):
        tiny(images(), timesteps=torch.tensor([1, 2, 3]))


# ---------------------------------------------------------------- conditioning
def test_empty_prompt_embedding_equals_a_fresh_encode(tiny):
    ids = torch.tensor([[49406] + [49407] * 76])  # bos, then eos as padding (SD's tokenizer)
    assert torch.equal(empty_prompt_ids(None, tiny.text_encoder.config), ids)
    fresh = tiny.text_encoder(input_ids=ids).last_hidden_state
    assert tiny.empty_prompt_embedding.shape == (1, 77, 16)
    assert torch.allclose(tiny.empty_prompt_embedding, fresh)


def test_condition_at_init_is_the_gated_formula(tiny):
    prompt, base = tiny.prompt, tiny.empty_prompt_embedding
    condition, offset = tiny.conditioning()
    expected = (torch.tanh(prompt.alpha_uncond_prompt) * base +
                torch.tanh(prompt.alpha_cond_prompt) * prompt.prompt_embed)
    assert torch.allclose(condition, expected)
    assert torch.equal(offset, torch.zeros(1, tiny.time_embed_dim))
    fixed = build_tiny(learnable_prompt=False)
    assert fixed.prompt is None
    condition, offset = fixed.conditioning()
    assert condition is fixed.empty_prompt_embedding and offset is None


def test_time_offset_is_added_to_the_unet_time_embedding():
    backbone = build_tiny()
    seen = {}
    # the time embedding as the first UNet resnet receives it: forward(hidden, temb)
    probe = backbone.unet.down_blocks[0].resnets[0].register_forward_pre_hook(
        lambda module, args: seen.__setitem__('temb', args[1]))
    _, at_init = backbone.forward_with_extras(images())
    temb_init = seen['temb']
    condition = backbone.conditioning()[0].expand(2, -1, -1)
    plain = backbone.unet(at_init['noisy_latent'], at_init['timesteps'],
                          encoder_hidden_states=condition).sample
    assert torch.equal(seen['temb'], temb_init)  # tanh(0) * tau = 0
    assert torch.equal(plain, at_init['unet_latent'])
    with torch.no_grad():
        backbone.prompt.alpha_cond_time.fill_(1.0)
    _, moved = backbone.forward_with_extras(images())
    offset = math.tanh(1.0) * backbone.prompt.time_embed.flatten(1)
    assert torch.allclose(seen['temb'], temb_init + offset, atol=1e-6)
    assert not torch.allclose(moved['unet_latent'], at_init['unet_latent'])
    probe.remove()


# ---------------------------------------------------------------- s0, gradients, hooks
def test_s0_is_the_detached_unclipped_vae_decoding(tiny):
    feats, extras = tiny.forward_with_extras(images())
    decoded = extras['decoded']
    assert decoded.grad_fn is None and not decoded.requires_grad
    expected = tiny.vae.decode(
        extras['unet_latent'].detach() / tiny.vae.config.scaling_factor).sample
    assert torch.allclose(decoded, expected, atol=1e-6)
    assert feats[0].requires_grad  # its projection is trained
    large = tiny.decode_latent(50 * extras['unet_latent'].detach())
    assert large.abs().max() > 1  # not clipped to [-1, 1]


def test_gradients_reach_unet_prompt_and_projections_only():
    backbone = build_tiny()
    feats, extras = backbone.forward_with_extras(images())
    (sum(f.square().mean() for f in feats) + extras['unet_latent'].square().mean()).backward()
    for name in ('vae', 'text_encoder'):
        params = list(getattr(backbone, name).parameters())
        assert all(not p.requires_grad and p.grad is None for p in params), name
    frozen_output = ('conv_norm_out.', 'conv_out.')  # MADM: unused by the taps, kept at SD
    for name, param in backbone.unet.named_parameters():
        if name.startswith(frozen_output):
            assert not param.requires_grad and param.grad is None, name
        else:
            assert param.grad is not None, name
    for name, param in [*backbone.prompt.named_parameters(),
                        *backbone.projections.named_parameters()]:
        assert param.grad is not None, name


def test_frozen_unet_output_layers_are_exactly_the_ones_the_taps_do_not_use():
    backbone = build_tiny(freeze_unet_output=False)
    sum(f.square().mean() for f in backbone(images())).backward()  # features only
    unused = {name for name, p in backbone.unet.named_parameters() if p.grad is None}
    assert unused == {'conv_norm_out.weight', 'conv_norm_out.bias', 'conv_out.weight',
                      'conv_out.bias'}
    backbone.zero_grad()
    backbone.forward_with_extras(images())[1]['unet_latent'].mean().backward()
    assert backbone.unet.conv_out.weight.grad is not None  # trainable when not frozen
    frozen = build_tiny(finetune_unet=False)
    assert not any(p.requires_grad for p in frozen.unet.parameters())
    frozen(images())[1].mean().backward()  # the prompt still learns through the frozen UNet
    assert frozen.prompt.prompt_embed.grad is not None


def test_hooks_live_only_during_the_unet_call(tiny):
    assert hook_count(tiny.unet) == 0
    offset = torch.zeros(1, tiny.time_embed_dim)
    with tiny.unet_taps(offset):
        assert hook_count(tiny.unet) == 4  # three taps + the time embedding
    assert hook_count(tiny.unet) == 0
    tiny(images())
    assert hook_count(tiny.unet) == 0
    with pytest.raises(RuntimeError):  # 3-channel "latent": conv_in fails inside the call
        tiny.unet_features(torch.zeros(1, 3, 8, 16), torch.zeros(1, dtype=torch.long))
    assert hook_count(tiny.unet) == 0


# ---------------------------------------------------------------- construction options
def test_input_resize_and_size_divisor(tiny):
    with pytest.raises(ValueError, match='multiple of 64'):
        tiny(images(height=60, width=120))
    resized = build_tiny(input_size=(64, 128))
    small = images(height=32, width=64)
    feats = resized(small)
    expected = tiny(F.interpolate(small, size=(64, 128), mode='bilinear', align_corners=False))
    assert [f.shape for f in feats] == [f.shape for f in expected]
    assert torch.allclose(feats[1], expected[1], atol=1e-5)  # same seed: same weights


def test_mismatched_parts_are_rejected():
    cfg = model_cfg().backbone
    with pytest.raises(ValueError, match='cross_attention_dim'):
        build_tiny(text_encoder_config=dict(cfg.text_encoder_config, hidden_size=8))
    with pytest.raises(ValueError, match='frozen_dtype'):
        build_tiny(frozen_dtype='half')


def test_frozen_parts_in_bfloat16():
    reference = build_tiny()
    half = build_tiny(frozen_dtype='bfloat16')
    assert {p.dtype for p in half.vae.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in half.text_encoder.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in half.unet.parameters()} == {torch.float32}
    # E("") is computed in float32 before the cast
    assert torch.equal(half.empty_prompt_embedding, reference.empty_prompt_embedding)
    feats, extras = half.forward_with_extras(images())
    _, ref_extras = reference.forward_with_extras(images())
    assert extras['latent'].dtype == extras['decoded'].dtype == torch.float32
    assert all(f.dtype == torch.float32 for f in feats)
    assert torch.allclose(extras['latent'], ref_extras['latent'], atol=0.05)


def test_gradient_checkpointing_keeps_features_and_gradients():
    plain = build_tiny()
    checkpointed = build_tiny(gradient_checkpointing=True)
    assert checkpointed.unet.up_blocks[1].gradient_checkpointing
    outputs = []
    for backbone in (plain, checkpointed):
        feats, extras = backbone.forward_with_extras(images())
        (sum(f.square().mean() for f in feats) + extras['unet_latent'].mean()).backward()
        outputs.append((feats, backbone.unet.conv_in.weight.grad))
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(outputs[0][0], outputs[1][0]))
    assert torch.allclose(outputs[0][1], outputs[1][1], atol=1e-5)
    assert hook_count(checkpointed.unet) == 0


def test_init_weights_and_train_keep_the_sd_parts():
    backbone = build_tiny()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    backbone.init_weights()
    assert all(torch.equal(before[k], v) for k, v in backbone.state_dict().items())
    backbone.train()
    assert backbone.unet.training and backbone.projections.training
    assert not backbone.vae.training and not backbone.text_encoder.training


def test_bottleneck_projection():
    gn = dict(type='GN', num_groups=4)
    projection = BottleneckProjection(3, 16, 8, gn)
    convs = [projection.conv1, projection.conv2, projection.conv3, projection.shortcut]
    assert [m.conv.kernel_size for m in convs] == [(1, 1), (3, 3), (1, 1), (1, 1)]
    assert [m.conv.out_channels for m in convs] == [8, 8, 16, 16]
    assert all(m.conv.bias is None and m.gn.num_groups == 4 for m in convs)  # bias-free + GN
    same = BottleneckProjection(16, 16, 8, gn)
    assert same.shortcut is None
    with torch.no_grad():
        same.conv3.conv.weight.zero_()  # residual branch 0: output = relu(0 + x)
    x = torch.randn(2, 16, 4, 4)
    assert torch.allclose(same(x), x.clamp(min=0))


# ---------------------------------------------------------------- in a segmentor + EMA teacher
def test_madm_tiny_segmentor_trains_with_a_teacher_sharing_the_unet():
    cfg = model_cfg()
    cfg.type = 'UDAEncoderDecoder'
    torch.manual_seed(0)
    student = MODELS.build(cfg)
    student.init_weights()
    student.train()
    teacher = EMATeacher(student, alpha=0.999, shared_modules=SHARED)
    backbone, teacher_backbone = student.backbone, teacher.model.backbone
    for name in ('unet', 'vae', 'text_encoder'):
        shared = getattr(teacher_backbone, name)
        assert isinstance(shared, SharedModule) and shared.module is getattr(backbone, name)
    assert teacher_backbone.prompt is not backbone.prompt  # EMA copies
    assert teacher_backbone.projections is not backbone.projections
    names = [n for n, _ in teacher.model.named_parameters()]
    assert not [n for n in names if n.startswith(tuple(f'{s}.' for s in SHARED))]
    assert 'backbone.prompt.prompt_embed' in names
    assert 'backbone.projections.0.conv1.conv.weight' in names

    optimizer = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=1e-3)
    inputs = images()
    losses = student(inputs, seg_samples(), mode='loss')
    losses['decode.loss_ce'].backward()
    optimizer.step()
    teacher.update(student, iteration=1)
    assert not torch.equal(teacher_backbone.prompt.prompt_embed, backbone.prompt.prompt_embed)

    metas = [dict(img_shape=(HEIGHT, WIDTH))] * 2
    with torch.no_grad(), teacher.pseudo_label_mode():
        logits = teacher.model.encode_decode(inputs, metas)
        feats = teacher_backbone(inputs, timesteps=60)  # DPLG-style teacher pass
        noisy_logits = teacher.model.decode_head(feats)
        backbone.unet.conv_in.weight.add_(0.5)  # the teacher runs the student's UNet
        changed = teacher.model.encode_decode(inputs, metas)
    assert logits.shape == (2, 19, HEIGHT, WIDTH)
    assert noisy_logits.shape == (2, 19, HEIGHT, WIDTH)
    assert not torch.allclose(changed, logits)
    assert hook_count(backbone.unet) == 0
