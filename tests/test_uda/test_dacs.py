"""DACS / DAFormer / MIC training step on a tiny DAFormer student."""
import pytest
import torch
from torch import nn

from mmseg_diffuda.models.uda import DACS

from .tiny_models import (HEIGHT, WIDTH, build_model, make_batch, optim_wrapper_for,
                          student_params, tiny_segmentor_cfg, uda_batch)

THINGS = [6, 7, 11, 12, 13, 14, 15, 16, 17, 18]
MIC = dict(masking=dict(type='BlockMasking', mask_ratio=0.7, block_size=16))


def record_student_calls(model) -> list:
    """Record the keyword arguments of every call of the student (its DDP-wrapped entry)."""
    calls = []
    model.student.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(dict(kwargs, data_samples=args[1])),
        with_kwargs=True)
    return calls


def test_one_step_backwards_each_term_once_and_steps_once():
    torch.manual_seed(0)
    model = build_model(ema=dict(alpha=0.999),
                        feature_distance=dict(thing_classes=THINGS), **MIC)
    calls = record_student_calls(model)
    before = student_params(model)
    optim_wrapper = optim_wrapper_for(model)
    log_vars = model.train_step(uda_batch(), optim_wrapper)

    # source (CE + FD), mixed and masked: one student forward and one backward each, one step
    assert optim_wrapper.calls == dict(backward=3, step=1, zero_grad=1)
    assert [c['mode'] for c in calls] == ['loss'] * 3
    assert [c.get('return_feats', False) for c in calls] == [True, False, False]
    assert set(log_vars) == {
        'loss', 'src.decode.loss_ce', 'src.decode.acc_seg', 'src.loss_imnet_feat_dist',
        'mix.decode.loss_ce', 'mix.decode.acc_seg', 'masked.decode.loss_ce',
        'masked.decode.acc_seg', 'pseudo_confidence', 'mix_ratio'
    }
    expected_total = sum(v for k, v in log_vars.items() if 'loss' in k and k != 'loss')
    assert torch.allclose(log_vars['loss'], expected_total)
    assert all(not v.requires_grad for v in log_vars.values())
    # the student moved; the teacher is the t=0 copy of the student before the step
    after = student_params(model)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    for name, param in model.teacher.model.named_parameters():
        assert torch.equal(param, before[name]), name
        assert not param.requires_grad
    assert int(model.local_iter) == 1


def logits_half_confident(batch_size: int) -> torch.Tensor:
    """Class 3 with probability ~0.9992 on the left half, uniform (1/19) on the right: q = 0.5.

    The pseudo-label is 3 on the left half and 0 (argmax of equal logits) on the right half.
    """
    logits = torch.zeros(batch_size, 19, HEIGHT, WIDTH)
    logits[:, 3, :, :WIDTH // 2] = 10.0
    return logits


def test_mixed_and_masked_weights_hand_computed(monkeypatch):
    torch.manual_seed(0)
    model = build_model(ema=dict(alpha=0.999), pseudo_ignore_top=2, pseudo_ignore_bottom=4, **MIC)
    monkeypatch.setattr(model, 'teacher_logits',
                        lambda inputs, samples: logits_half_confident(inputs.shape[0]))
    calls = record_student_calls(model)
    batch = uda_batch()
    for sample in batch['source']['data_samples']:  # two source classes: 5 on top, 8 below
        sample.gt_sem_seg.data[:, :HEIGHT // 2] = 5
        sample.gt_sem_seg.data[:, HEIGHT // 2:] = 8
    log_vars = model.train_step(batch, optim_wrapper_for(model))
    assert log_vars['pseudo_confidence'].item() == 0.5
    assert log_vars['mix_ratio'].item() == 0.5  # ClassMix pastes 1 of the 2 classes

    rows_kept = torch.zeros(HEIGHT, dtype=torch.bool)
    rows_kept[2:HEIGHT - 4] = True  # pseudo-label crop: top 2 and bottom 4 rows get weight 0
    unmixed = torch.where(rows_kept[:, None], 0.5, 0.0).expand(HEIGHT, WIDTH)
    pseudo_label = torch.zeros(HEIGHT, WIDTH, dtype=torch.long)
    pseudo_label[:, :WIDTH // 2] = 3

    mix_call, masked_call = calls[1], calls[2]
    for i in range(2):
        mixed_label = mix_call['data_samples'][i].gt_sem_seg.data[0]
        from_source = (mixed_label == 5) | (mixed_label == 8)
        # the pasted class fills one half: source pixels weight 1, target pixels q (or 0)
        assert from_source.sum() == HEIGHT * WIDTH // 2
        assert torch.equal(mixed_label[~from_source], pseudo_label[~from_source])
        expected_mixed = torch.where(from_source, 1.0, unmixed)
        assert torch.equal(mix_call['seg_weight'][i], expected_mixed)
        # MIC: pseudo-labels of the unmasked target, the un-mixed weight (MIC clones it)
        assert torch.equal(masked_call['seg_weight'][i], unmixed)
        assert torch.equal(masked_call['data_samples'][i].gt_sem_seg.data[0], pseudo_label)


class FixedLosses(nn.Module):
    """A stand-in student returning fixed losses."""

    def forward(self, *args, **kwargs):
        return {'decode.loss_ce': torch.tensor(2.0), 'decode.acc_seg': torch.tensor(40.0)}


def test_masked_loss_is_scaled_by_lambda(monkeypatch):
    torch.manual_seed(0)
    model = build_model(ema=dict(alpha=0.999), mask_loss_weight=0.25, **MIC)
    monkeypatch.setattr(model, 'student', FixedLosses())
    batch = model.data_preprocessor(make_batch(with_labels=False), True)
    pseudo = model.pseudo_label(batch['inputs'], batch['data_samples'])
    losses = model.masked_loss(batch['inputs'], batch['data_samples'], pseudo)
    assert losses['decode.loss_ce'].item() == 0.5 and losses['decode.acc_seg'].item() == 40.0


def test_feature_distance_starts_at_zero_and_imnet_encoder_stays_frozen():
    torch.manual_seed(0)
    # no DropPath, so that student and ImageNet encoder compute the same features at t=0
    model = build_model(ema=dict(alpha=0.999), drop_path_rate=0.0,
                        feature_distance=dict(loss_weight=0.005, thing_classes=THINGS))
    imnet = {k: v.clone() for k, v in model.imnet_encoder.backbone.state_dict().items()}
    initial = model.student_module.backbone.state_dict()
    assert all(torch.equal(imnet[k], initial[k]) for k in initial)  # copied by init_weights
    assert not model.imnet_encoder.training and model.training
    assert not any(p.requires_grad for p in model.imnet_encoder.parameters())

    optim_wrapper = optim_wrapper_for(model)
    cars = 13  # a thing class covering every stride-32 cell
    first = model.train_step(uda_batch(label_value=cars), optim_wrapper)
    # 0 up to float error (the frozen copy in eval mode may take PyTorch's fused attention path)
    assert first['src.loss_imnet_feat_dist'].item() == pytest.approx(0.0, abs=1e-6)
    second = model.train_step(uda_batch(label_value=cars), optim_wrapper)
    assert second['src.loss_imnet_feat_dist'].item() > 1e-4
    for key, value in model.imnet_encoder.backbone.state_dict().items():
        assert torch.equal(value, imnet[key]), key


def test_same_seed_same_iteration():
    def run():
        torch.manual_seed(0)
        model = build_model(ema=dict(alpha=0.999), **MIC)
        batch = uda_batch()
        torch.manual_seed(1)
        return model.train_step(batch, optim_wrapper_for(model))

    first, second = run(), run()
    assert {k: v.item() for k, v in first.items()} == {k: v.item() for k, v in second.items()}


def test_dacs_needs_target_teacher_and_weighted_student():
    model = build_model(ema=dict(alpha=0.99))
    with pytest.raises(KeyError, match='target'):
        model.train_step(dict(source=make_batch()), optim_wrapper_for(model))
    with pytest.raises(ValueError, match='ema'):
        DACS(segmentor=tiny_segmentor_cfg(), ema=None)
    with pytest.raises(TypeError, match='UDAEncoderDecoder'):
        DACS(segmentor=dict(tiny_segmentor_cfg(), type='EncoderDecoder'))
    with pytest.raises(KeyError, match='thing_class'):
        DACS(segmentor=tiny_segmentor_cfg(), feature_distance=dict(thing_class=[13]))
