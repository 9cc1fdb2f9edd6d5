"""UDAEncoderDecoder.head_losses: decode and auxiliary heads, plain and pixel-weighted."""
import pytest
import torch
from mmseg.registry import MODELS

from .tiny_models import make_batch, tiny_segmentor_cfg


def build_student(num_aux: int):
    cfg = tiny_segmentor_cfg(drop_path_rate=0.0)
    aux = dict(type='FCNHead', in_channels=32, in_index=1, channels=8, num_convs=1,
               num_classes=19, dropout_ratio=0.0, norm_cfg=dict(type='BN', requires_grad=True),
               loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4))
    if num_aux:
        cfg['auxiliary_head'] = aux if num_aux == 1 else [aux] * num_aux
    student = MODELS.build(cfg)
    student.init_weights()
    return student.eval()  # no dropout/BN updates: both calls see the same network


@pytest.mark.parametrize('num_aux', [0, 1, 2])
def test_unit_weights_give_the_plain_losses_of_every_head(num_aux):
    student = build_student(num_aux)
    batch = student.data_preprocessor(make_batch(2), training=True)
    inputs, samples = batch['inputs'], batch['data_samples']
    plain = student.loss(inputs, samples)
    ones = student.loss(inputs, samples, seg_weight=torch.ones(2, *inputs.shape[2:]))
    expected_prefixes = {'decode'} | ({'aux'} if num_aux == 1 else
                                      {f'aux_{i}' for i in range(num_aux)})
    assert {key.split('.')[0] for key in plain} == expected_prefixes
    assert plain.keys() == ones.keys()
    for key in plain:
        torch.testing.assert_close(ones[key], plain[key])


def test_weights_scale_the_auxiliary_loss():
    student = build_student(1)
    batch = student.data_preprocessor(make_batch(2), training=True)
    inputs, samples = batch['inputs'], batch['data_samples']
    feats = student.extract_feat(inputs)
    full = student.auxiliary_head_losses(feats, samples, torch.ones(2, *inputs.shape[2:]))
    half = student.auxiliary_head_losses(feats, samples, torch.full((2, *inputs.shape[2:]), .5))
    torch.testing.assert_close(half['aux.loss_ce'], full['aux.loss_ce'] / 2)
    assert student.auxiliary_head_losses(feats, samples).keys() == full.keys()
