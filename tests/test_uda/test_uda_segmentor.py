"""UDASegmentor: source-only training, evaluation delegation, checkpoint round trip."""
import io

import pytest
import torch
from mmengine.optim import OptimWrapper

from .tiny_models import (build_model, make_batch, optim_wrapper_for, student_params,
                          tiny_segmentor_cfg, uda_batch)


def test_source_only_trains_the_student_with_one_step():
    torch.manual_seed(0)
    model = build_model('UDASegmentor', ema=None)
    assert model.teacher is None
    before = student_params(model)
    optim_wrapper = optim_wrapper_for(model)
    log_vars = model.train_step(dict(source=make_batch()), optim_wrapper)
    assert optim_wrapper.calls == dict(backward=1, step=1, zero_grad=1)
    assert set(log_vars) == {'loss', 'src.decode.loss_ce', 'src.decode.acc_seg'}
    assert torch.equal(log_vars['loss'], log_vars['src.decode.loss_ce'])
    assert not log_vars['loss'].requires_grad
    after = student_params(model)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())  # zeroed
    assert int(model.local_iter) == 1


def test_plain_labelled_batches_are_source_batches():
    model = build_model('UDASegmentor', ema=None)
    log_vars = model.train_step(make_batch(), optim_wrapper_for(model))
    assert 'src.decode.loss_ce' in log_vars and int(model.local_iter) == 1
    with pytest.raises(KeyError, match='source'):
        model.train_step(dict(images=[]), optim_wrapper_for(model))


def test_gradient_accumulation_is_rejected():
    model = build_model('UDASegmentor', ema=None)
    params = [p for p in model.parameters() if p.requires_grad]
    wrapper = OptimWrapper(torch.optim.SGD(params, lr=0.1), accumulative_counts=2)
    with pytest.raises(ValueError, match='accumulative_counts'):
        model.train_step(dict(source=make_batch()), wrapper)


def test_data_preprocessor_defaults_to_the_students():
    model = build_model('UDASegmentor', ema=None)
    assert model.data_preprocessor.mean.flatten().tolist() == pytest.approx(
        [123.675, 116.28, 103.53])
    with pytest.raises(ValueError, match='data_preprocessor'):
        segmentor = tiny_segmentor_cfg()
        segmentor.pop('data_preprocessor')
        from mmseg.registry import MODELS
        MODELS.build(dict(type='UDASegmentor', segmentor=segmentor))


@pytest.mark.parametrize('evaluate_teacher', [False, True])
def test_evaluation_uses_student_or_teacher(evaluate_teacher):
    torch.manual_seed(0)
    model = build_model('UDASegmentor', evaluate_teacher=evaluate_teacher)
    with torch.no_grad():
        model.teacher.update(model.student_module, 0)
        for param in model.teacher.model.decode_head.parameters():
            param.add_(0.5)  # the teacher now predicts differently
    model.eval()
    batch = model.data_preprocessor(make_batch(), False)
    inputs, samples = batch['inputs'], batch['data_samples']
    expected_net = model.teacher.model if evaluate_teacher else model.student_module
    other_net = model.student_module if evaluate_teacher else model.teacher.model
    with torch.no_grad():
        logits = model.predict(inputs, samples)[0].seg_logits.data
        expected = expected_net.predict(inputs, samples)[0].seg_logits.data
        other = other_net.predict(inputs, samples)[0].seg_logits.data
        assert torch.equal(logits, expected) and not torch.equal(logits, other)
        assert torch.equal(model(inputs, samples, mode='tensor'), expected_net._forward(inputs))
        assert torch.equal(model.encode_decode(inputs, [s.metainfo for s in samples]),
                           expected_net.encode_decode(inputs, [s.metainfo for s in samples]))
        val = model.val_step(make_batch())
    assert len(val) == 2 and val[0].pred_sem_seg.shape == (64, 128)


def test_evaluate_teacher_without_teacher_is_an_error():
    with pytest.raises(ValueError, match='teacher'):
        build_model('UDASegmentor', ema=None, evaluate_teacher=True)


def test_checkpoint_round_trip_restores_iteration_and_teacher():
    torch.manual_seed(0)
    kwargs = dict(ema=dict(alpha=0.9), feature_distance=dict(thing_classes=[13]))
    model = build_model('DACS', **kwargs)
    optim_wrapper = optim_wrapper_for(model)
    for _ in range(2):
        model.train_step(uda_batch(), optim_wrapper)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)  # plain tensors: loads safely
    assert int(state['local_iter']) == 2

    torch.manual_seed(123)  # different initial weights
    restored = build_model('DACS', **kwargs)
    restored.load_state_dict(state)
    assert int(restored.local_iter) == 2
    for key, value in model.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value), key
    # Continuing: iteration 2 uses alpha_2 = min(2/3, 0.9) on both, not the t=0 copy.
    batch = uda_batch()
    torch.manual_seed(7)
    model.train_step(batch, optim_wrapper)
    torch.manual_seed(7)
    restored.train_step(batch, optim_wrapper_for(restored))
    teacher = dict(model.teacher.named_parameters())
    for name, param in restored.teacher.named_parameters():
        assert torch.equal(param, teacher[name]), name
    assert int(restored.local_iter) == int(model.local_iter) == 3
