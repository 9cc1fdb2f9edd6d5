"""LC-MSM training step, teacher, inference and configs on a tiny student."""
import random

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import METRICS, MODELS
from mmseg.structures import SegDataSample

from mmseg_diffuda.models.uda import LCMSM, LanguageConditionedEncoderDecoder

from .tiny_models import (HEIGHT, REPO, WIDTH, make_batch, optim_wrapper_for,
                          tiny_segmentor_cfg, uda_batch)

THINGS = [6, 7, 11, 12, 13, 14, 15, 16, 17, 18]
MASKING = dict(type='BlockMasking', mask_ratio=0.5, block_size=8)


def tiny_lcmsm_segmentor():
    """The toy LC-MSM student (configs/_base_/models/lcmsm_mitb0-tiny.py)."""
    return Config.fromfile(REPO / 'configs/_base_/models/lcmsm_mitb0-tiny.py').model


def build_lcmsm(**kwargs) -> LCMSM:
    kwargs.setdefault('masking', MASKING)
    model = MODELS.build(dict(type='LCMSM', segmentor=tiny_lcmsm_segmentor(), **kwargs))
    model.init_weights()
    model.train()
    return model


def record_student_calls(model) -> list:
    """Record inputs, samples and keyword arguments of every DDP-entry call of the student."""
    calls = []
    model.student.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(
            dict(kwargs, inputs=args[0], data_samples=args[1])),
        with_kwargs=True)
    return calls


def labels_of(samples) -> torch.Tensor:
    return torch.stack([s.gt_sem_seg.data for s in samples])


def test_one_step_trains_four_terms_through_the_right_heads():
    torch.manual_seed(0)
    model = build_lcmsm(ema=dict(alpha=0.999), feature_distance=dict(thing_classes=THINGS))
    calls = record_student_calls(model)
    optim_wrapper = optim_wrapper_for(model)
    batch = uda_batch()
    log_vars = model.train_step(batch, optim_wrapper)

    assert optim_wrapper.calls == dict(backward=4, step=1, zero_grad=1)
    assert [c['mode'] for c in calls] == ['loss'] * 4
    assert [c.get('use_language_head', False) for c in calls] == [False, True, False, True]
    assert [c.get('return_feats', False) for c in calls] == [True, False, False, False]
    src, masked_src, mixed, masked_mix = calls
    # masked source: source labels, no pixel weight; masked mix: mixed labels and weights
    assert masked_src.get('seg_weight') is None
    assert torch.equal(labels_of(masked_src['data_samples']), labels_of(src['data_samples']))
    assert torch.equal(labels_of(masked_mix['data_samples']), labels_of(mixed['data_samples']))
    assert masked_mix['seg_weight'] is mixed['seg_weight']
    # block masking zeroes about half of the 8x8 blocks of both masked images
    for call in (masked_src, masked_mix):
        masked_share = (call['inputs'] == 0).all(dim=1).float().mean().item()
        assert 0.15 < masked_share < 0.85
    assert (src['inputs'] == 0).all(dim=1).float().mean().item() < 0.01
    assert set(log_vars) == {
        'loss', 'src.decode.loss_ce', 'src.decode.acc_seg', 'src.loss_imnet_feat_dist',
        'masked_src.lang.loss_ce', 'masked_src.lang.acc_seg', 'mix.decode.loss_ce',
        'mix.decode.acc_seg', 'masked_mix.lang.loss_ce', 'masked_mix.lang.acc_seg',
        'pseudo_confidence', 'mix_ratio'
    }
    assert all(torch.isfinite(v) for v in log_vars.values())
    # the language head and the text projection received gradients and moved
    student = model.student_module
    teacher = model.teacher.model
    assert not torch.equal(student.language_head.conv_seg.weight,
                           teacher.language_head.conv_seg.weight)


def confident_logits(batch_size: int, label: int) -> torch.Tensor:
    """Head-resolution logits (stride 4) that predict ``label`` with probability ~1."""
    logits = torch.zeros(batch_size, 19, HEIGHT // 4, WIDTH // 4)
    logits[:, label] = 20.0
    return logits


def test_pseudo_labels_come_from_the_teachers_language_head(monkeypatch):
    model = build_lcmsm()
    teacher = model.teacher.model
    monkeypatch.setattr(teacher.language_head, 'forward', lambda x: confident_logits(2, 7))
    monkeypatch.setattr(teacher.decode_head, 'forward', lambda x: confident_logits(2, 3))

    def never(x):
        raise AssertionError('the student must not label the target')

    monkeypatch.setattr(model.student.language_head, 'forward', never)
    inputs = torch.randn(2, 3, HEIGHT, WIDTH)
    samples = [SegDataSample(metainfo=dict(img_shape=(HEIGHT, WIDTH))) for _ in range(2)]
    pseudo = model.pseudo_label(inputs, samples)
    assert pseudo.label.shape == (2, HEIGHT, WIDTH)
    assert torch.all(pseudo.label == 7)
    assert pseudo.confident_ratio == 1.0


def test_teacher_language_head_is_ema_updated_and_shares_the_projection():
    model = build_lcmsm(ema=dict(alpha=0.999))
    student, teacher = model.student_module, model.teacher.model
    assert teacher.language_head.text_projection.module is student.language_head.text_projection
    assert not any('text_projection' in key for key in model.teacher.state_dict())
    with torch.no_grad():
        teacher.language_head.conv_seg.weight.fill_(1.0)
        student.language_head.conv_seg.weight.fill_(7.0)
    model.teacher.update(student, 5)  # alpha_5 = min(1 - 1/6, 0.999) = 5/6
    assert torch.allclose(teacher.language_head.conv_seg.weight,
                          torch.full_like(teacher.language_head.conv_seg.weight, 2.0))

    unshared = build_lcmsm(share_text_projection=False)
    projection = unshared.teacher.model.language_head.text_projection
    assert isinstance(projection, torch.nn.Linear)
    assert projection is not unshared.student.language_head.text_projection


def count_forward_calls(monkeypatch, heads: dict) -> dict:
    """Count ``forward`` calls of the heads (mmseg's ``predict`` bypasses module hooks)."""
    calls = dict.fromkeys(heads, 0)

    def counted(name, forward):

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return forward(*args, **kwargs)

        return wrapper

    for name, head in heads.items():
        monkeypatch.setattr(head, 'forward', counted(name, head.forward))
    return calls


def test_inference_uses_the_main_head_only(monkeypatch):
    torch.manual_seed(0)
    model = build_lcmsm()
    model.eval()
    calls = count_forward_calls(monkeypatch, dict(decode=model.student.decode_head,
                                                  language=model.student.language_head))
    inputs = torch.randn(1, 3, HEIGHT, WIDTH)
    samples = [SegDataSample(metainfo=dict(img_shape=(HEIGHT, WIDTH), ori_shape=(HEIGHT, WIDTH),
                                           pad_shape=(HEIGHT, WIDTH), padding_size=[0, 0, 0, 0]))]
    with torch.no_grad():
        predictions = model.predict(inputs, samples)
        logits = model.student.decode_head.predict(
            model.student.extract_feat(inputs), [samples[0].metainfo], model.student.test_cfg)
    assert calls == {'decode': 2, 'language': 0}
    assert torch.allclose(predictions[0].seg_logits.data, logits[0], atol=1e-5)


def test_masked_losses_are_scaled_by_mask_loss_weight():
    model = build_lcmsm()
    batch = model.data_preprocessor(make_batch(2), True)

    def masked_loss(weight: float) -> torch.Tensor:
        model.mask_loss_weight = weight
        random.seed(0)
        torch.manual_seed(0)
        return model.masked_source_loss(batch['inputs'], batch['data_samples'])

    full, half = masked_loss(1.0), masked_loss(0.5)
    assert torch.allclose(half['lang.loss_ce'], 0.5 * full['lang.loss_ce'])
    assert torch.equal(half['lang.acc_seg'], full['lang.acc_seg'])


def test_misconfigurations_name_the_fix():
    with pytest.raises(ValueError, match='masking'):
        build_lcmsm(masking=None)
    with pytest.raises(TypeError, match='LanguageConditionedEncoderDecoder'):
        MODELS.build(dict(type='LCMSM', segmentor=tiny_segmentor_cfg()))
    with pytest.raises(KeyError, match='target'):
        model = build_lcmsm()
        model.train_step(dict(source=make_batch(2)), optim_wrapper_for(model))
    student = MODELS.build(tiny_lcmsm_segmentor())
    with pytest.raises(ValueError, match='use_language_head only applies'):
        student(torch.zeros(1, 3, HEIGHT, WIDTH), mode='tensor', use_language_head=True)


def test_toy_config_matches_the_mic_toy_except_the_method():
    lcmsm = Config.fromfile(REPO / 'configs/toy/lcmsm_mitb0-tiny_toy.py')
    mic = Config.fromfile(REPO / 'configs/toy/mic_mitb0-tiny_toy.py')
    for key in ('backbone', 'decode_head', 'data_preprocessor'):
        assert lcmsm.model.segmentor[key] == mic.model.segmentor[key], key
    assert lcmsm.train_dataloader == mic.train_dataloader
    assert lcmsm.param_scheduler == mic.param_scheduler
    assert lcmsm.train_cfg == mic.train_cfg
    assert lcmsm.optim_wrapper.paramwise_cfg.custom_keys.text_projection == dict(lr_mult=1.0)
    model = MODELS.build(lcmsm.model)
    assert isinstance(model, LCMSM)
    assert isinstance(model.student, LanguageConditionedEncoderDecoder)
    assert (model.masking.mask_ratio, model.masking.block_size) == (0.5, 8)
    assert model.teacher.alpha == 0.99
    assert (model.pseudo_ignore_top, model.pseudo_ignore_bottom) == (2, 15)
    assert model.student.language_head.text_encoder.embeddings.shape == (19, 64)
    assert lcmsm.model_wrapper_cfg.find_unused_parameters is True


@pytest.mark.slow
def test_full_size_config_builds_and_trains_one_iteration_on_a_small_input():
    cfg = Config.fromfile(REPO / 'configs/lc_msm/lcmsm_daformer_mitb5_gta2cs-512x512.py')
    synthia = Config.fromfile(REPO / 'configs/lc_msm/lcmsm_daformer_mitb5_synthia2cs-512x512.py')
    assert synthia.model == cfg.model and synthia.train_cfg == cfg.train_cfg
    assert set(METRICS.build(synthia.val_evaluator).subsets) == {'mIoU16', 'mIoU13'}
    assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval) == (60000, 2000)
    assert cfg.param_scheduler[1].end == 60000
    text_encoder = cfg.model.segmentor.language_head.text_encoder
    assert (text_encoder.model_name, text_encoder.pretrained) == ('ViT-H-14', 'laion2b_s32b_b79k')

    torch.manual_seed(0)
    text_encoder.pretrained = None  # the ViT-H-14 architecture with random weights
    cfg.model.data_preprocessor = dict(cfg.model.segmentor.data_preprocessor, size=(64, 64))
    model = MODELS.build(cfg.model)  # random weights: init_weights would load the MiT-B5 file
    student = model.student
    assert student.language_head.text_encoder.embeddings.shape == (19, 1024)
    projection = student.language_head.text_projection
    assert (projection.in_features, projection.out_features) == (1024, 512)
    assert student.decode_head.channels == student.language_head.channels == 512
    assert student.test_cfg.mode == 'slide' and tuple(student.test_cfg.stride) == (256, 256)
    assert model.teacher.alpha == 0.999
    assert (model.masking.mask_ratio, model.masking.block_size) == (0.5, 32)
    assert (model.pseudo_ignore_top, model.pseudo_ignore_bottom) == (0, 0)
    assert model.fd_cfg == dict(loss_weight=0.005, thing_classes=THINGS, min_ratio=0.75)

    model.train()
    batch = dict(source=make_batch(1, size=(64, 64)),
                 target=make_batch(1, with_labels=False, size=(64, 64)))
    model.masking.block_size = 16  # 32 px blocks would leave a 2x2 grid on 64x64 crops
    optim_wrapper = optim_wrapper_for(model, lr=6e-5)
    log_vars = model.train_step(batch, optim_wrapper)
    assert optim_wrapper.calls == dict(backward=4, step=1, zero_grad=1)
    assert all(torch.isfinite(v) for v in log_vars.values())
