"""DIFF training: the conditional pass + consistency loss, source-only DG and DACS runs, configs."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmseg.registry import MODELS

from .tiny_models import REPO, make_batch, uda_batch

TINY = REPO / 'configs/_base_/models/diff_tiny.py'


def tiny_student_cfg(**backbone):
    model = Config.fromfile(TINY).model
    model.backbone.update(backbone)
    return model


def build(type='UDASegmentor', **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dict(type=type, segmentor=tiny_student_cfg(), **kwargs))
    model.init_weights()
    return model.train()


def labelled(classes):
    """A preprocessed labelled batch: class 0, plus a band of ``classes[b]`` in image b."""
    batch = make_batch(len(classes), label_value=0)
    for sample, c in zip(batch['data_samples'], classes):
        sample.gt_sem_seg.data[:, 16:40, 32:96] = c
    return batch


def student_losses(model, classes, eta=0.0, seed=0):
    student = model.student
    student.backbone.eta = eta
    data = model.data_preprocessor(labelled(classes), True)
    torch.manual_seed(seed)
    return student(data['inputs'], data['data_samples'], mode='loss')


def test_conditional_pass_equals_plain_pass_without_enabled_classes():
    model = build(ema=None)
    model.student.decode_head.dropout = None
    # eta = 0 and one shared latent: with no enabled class both passes are the same pass.
    losses = student_losses(model, classes=[2, 13])
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg', 'decode_cond.loss_ce',
                           'decode_cond.acc_seg', 'loss_consistency'}
    assert losses['loss_consistency'].item() == 0
    assert torch.equal(losses['decode.loss_ce'], losses['decode_cond.loss_ce'])
    # Wall (3) and rider (12) are enabled: the conditional pass now differs.
    losses = student_losses(model, classes=[3, 12])
    assert losses['loss_consistency'].item() > 0
    assert not torch.equal(losses['decode.loss_ce'], losses['decode_cond.loss_ce'])


def test_consistency_is_the_weighted_mse_of_the_two_logit_maps(monkeypatch):
    model = build(ema=None)
    student = model.student
    student.consistency_weight = 0.5
    logits = []
    head_forward = type(student.decode_head).forward

    def spy(self, inputs):
        out = head_forward(self, inputs)
        logits.append(out)
        return out

    monkeypatch.setattr(type(student.decode_head), 'forward', spy)
    losses = student_losses(model, classes=[1, 16], eta=1.0)
    expected = 0.5 * ((logits[0] - logits[1])**2).mean()
    assert losses['loss_consistency'].item() == pytest.approx(expected.item(), rel=1e-6)
    assert logits[0].shape[2:] == (16, 32)  # stride 4 of the 64x128 crop


def test_encoder_runs_once_and_prediction_uses_the_plain_pass(monkeypatch):
    model = build(ema=None)
    backbone = model.student.backbone
    calls = []
    encode, features = type(backbone).encode_latent, type(backbone).features_from_latent
    monkeypatch.setattr(type(backbone), 'encode_latent',
                        lambda self, x: calls.append('encode') or encode(self, x))
    monkeypatch.setattr(type(backbone), 'features_from_latent',
                        lambda self, z, labels=None: calls.append(labels is not None) or
                        features(self, z, labels))
    student_losses(model, classes=[1, 1])
    assert calls == ['encode', True, False]
    calls.clear()
    model.eval()
    data = model.data_preprocessor(labelled([1]), False)
    model.predict(data['inputs'], data['data_samples'])
    assert calls == ['encode', False]


def test_source_only_train_step_trains_only_aggregation_fusion_and_head():
    model = build(ema=None)
    before = {k: v.clone() for k, v in model.student.backbone.unet.state_dict().items()}
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3),
                         clip_grad=dict(max_norm=5.0))
    log_vars = model.train_step(dict(source=labelled([1, 3])), optim)
    assert {'src.decode.loss_ce', 'src.decode_cond.loss_ce', 'src.loss_consistency'} <= set(
        log_vars)
    after = model.student.backbone.unet.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_dacs_shares_the_frozen_sd_with_the_teacher():
    model = build(type='DACS', ema=dict(alpha=0.99, shared_modules=['backbone.unet',
                                                                    'backbone.vae']))
    teacher = model.teacher.model.backbone
    assert teacher.unet.module is model.student.backbone.unet
    assert not any('unet' in name or 'vae' in name for name, _ in model.teacher.named_parameters())
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    log_vars = model.train_step(uda_batch(label_value=1), optim)
    assert {'src.loss_consistency', 'mix.loss_consistency', 'pseudo_confidence'} <= set(log_vars)


def build_full(name):
    """A full-size config's model, SD 2.1 built on the meta device (shapes only, no 5 GB)."""
    cfg = Config.fromfile(REPO / 'configs/diff' / name)
    cfg.model.segmentor.backbone.pretrained = None
    with torch.device('meta'):
        return cfg, MODELS.build(cfg.model)


def test_full_size_dg_config_builds_with_the_official_sizes():
    cfg, model = build_full('diff_sd21_daformer_gta2cs-dg-512x512.py')
    backbone = model.student.backbone
    assert backbone.channels_by_stride == {8: 1920, 16: 3840, 32: 7680}
    assert [backbone.aggregation.blocks[str(s)].conv1.conv.in_channels
            for s in (8, 16, 32)] == [1920 * 9, 3840 * 9, 7680 * 9]
    assert backbone.out_channels == [256, 512, 1024, 2048]
    assert model.student.decode_head.in_channels == [256, 512, 1024, 2048]
    assert backbone.class_ids == [1, 3, 12, 14, 16]
    assert backbone.schedule.saved_timesteps == [91, 52, 30, 22, 18, 14, 11, 7, 3]
    assert model.teacher is None and cfg.train_dataloader.batch_size == 1
    assert cfg.train_dataloader.dataset.get('target') is None
    assert cfg.optim_wrapper.clip_grad.max_norm == 5.0
    assert cfg.optim_wrapper.optimizer.lr == 6e-5
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys == dict(head=dict(lr_mult=10.0))
    assert cfg.train_cfg.max_iters == 40000 and cfg.train_cfg.val_interval == 4000


def test_variant_configs():
    five = Config.fromfile(REPO / 'configs/diff/diff_sd21-5step_daformer_gta2cs-dg-512x512.py')
    assert five.model.segmentor.backbone.scheduler_timesteps == (80, 60, 40, 20, 1)
    assert five.model.segmentor.backbone.save_indices == (4, 3, 2, 1, 0)
    dacs = Config.fromfile(REPO / 'configs/diff/diff_sd21_daformer_dacs_gta2cs-512x512.py')
    assert dacs.model.type == 'DACS'
    assert dacs.model.ema.shared_modules == ['backbone.unet', 'backbone.vae']
    assert dacs.model.segmentor.type == 'DiffEncoderDecoder'
    toy = Config.fromfile(REPO / 'configs/toy/diff_tiny_toy-dg.py')
    assert toy.model.type == 'UDASegmentor' and toy.model.ema is None
    assert toy.model.segmentor.backbone.type == 'DiffusionFeatureBackbone'


@pytest.mark.slow
def test_full_size_dacs_config_builds_with_a_shared_sd():
    _, model = build_full('diff_sd21_daformer_dacs_gta2cs-512x512.py')
    assert model.teacher.model.backbone.unet.module is model.student.backbone.unet
