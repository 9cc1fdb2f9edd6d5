"""Tests of ICCLD: domain losses and labels, GAN update order, the two optimisers, configs."""
import math
import runpy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper, OptimWrapperDict, build_optim_wrapper
from mmseg.registry import METRICS, MODELS
from torch import nn

from mmseg_diffuda.engine import from_plain_data
from mmseg_diffuda.models.uda import DACS, ICCLD
from mmseg_diffuda.models.uda.latent_discriminator import (LatentDomainDiscriminator,
                                                           domain_accuracy,
                                                           domain_confusion_loss)

from ..test_tools.test_train_test import check, run_tool
from .tiny_models import REPO, uda_batch

TOY = REPO / 'configs/toy/iccld_sd-tiny_toy.py'
FULL = {
    'gta2cs': 'configs/iccld/iccld_sd15_gta2cs-512x512.py',
    'synthia2cs': 'configs/iccld/iccld_sd15_synthia2cs-512x512.py',
    'no-intercoder': 'configs/iccld/iccld-no-intercoder_sd15_gta2cs-512x512.py',
    'no-adversarial': 'configs/iccld/iccld-no-adversarial_sd15_gta2cs-512x512.py',
}


def toy_cfg(**model_overrides):
    cfg = Config.fromfile(TOY)
    for key, value in model_overrides.items():  # replace (ConfigDict.update would merge)
        cfg.model[key] = value
    return cfg


def build(cfg, seed: int = 0) -> ICCLD:
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    return model


def wrappers(model, cfg) -> OptimWrapperDict:
    return build_optim_wrapper(model, cfg.optim_wrapper)


class ConstantDiscriminator(nn.Module):
    """Logits ``[0, ln 4, 0]`` at every position (a trainable bias)."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.tensor([0.0, math.log(4.0), 0.0]))

    def forward(self, features, timesteps=None):
        b, _, h, w = features.shape
        return self.bias.view(1, 3, 1, 1).expand(b, 3, h, w)


# ------------------------------------------------------------------ losses and labels
def test_domain_confusion_loss_hand_computed():
    logits = torch.tensor([0.0, math.log(2.0), 0.0]).view(1, 3, 1, 1).repeat(2, 1, 2, 2)
    # softmax = (1/4, 1/2, 1/4): -(ln 1/4 + ln 1/2 + ln 1/4) / 3 = 5/3 ln 2
    assert domain_confusion_loss(logits).item() == pytest.approx(5 / 3 * math.log(2))
    uniform = torch.zeros(1, 3, 2, 2)
    assert domain_confusion_loss(uniform).item() == pytest.approx(math.log(3))  # the minimum
    labels = torch.tensor([[[1, 0], [1, 1]]])
    assert domain_accuracy(logits[:1], labels).item() == 0.75


def test_three_domain_labels_and_discriminator_update_hand_computed():
    cfg = toy_cfg()
    model = build(cfg)
    assert model.domains == ('source', 'mixed', 'target')
    logits = torch.zeros(2, 3, 1, 2)
    assert [model.domain_labels(logits, d).unique().item() for d in model.domains] == [0, 1, 2]
    model.discriminator = ConstantDiscriminator()
    disc_wrapper = OptimWrapper(torch.optim.SGD(model.discriminator.parameters(), lr=1.0))
    feats = {'source': (torch.zeros(2, 16, 2, 4), torch.zeros(2, dtype=torch.long)),
             'mixed': (torch.zeros(1, 16, 2, 4), torch.zeros(1, dtype=torch.long)),
             'target': (torch.zeros(3, 16, 2, 4), torch.zeros(3, dtype=torch.long))}
    log_vars = model.discriminator_update(feats, disc_wrapper)
    # softmax = (1/6, 4/6, 1/6): every position is classified "mixed"
    assert log_vars['disc.acc_source'] == 0 and log_vars['disc.acc_target'] == 0
    assert log_vars['disc.acc_mixed'] == 1 and log_vars['disc.acc'].item() == pytest.approx(1 / 6)
    # CE: 5 of 6 images at -ln(1/6), one at -ln(4/6)
    expected = (5 * math.log(6) + math.log(1.5)) / 6
    assert log_vars['disc.domain_ce'].item() == pytest.approx(expected, rel=1e-5)
    # one SGD step on the bias: grad = mean(softmax - onehot) over all positions
    p = torch.tensor([1 / 6, 4 / 6, 1 / 6])
    grad = p - torch.tensor([2, 1, 3]) / 6
    expected_bias = torch.tensor([0.0, math.log(4.0), 0.0]) - grad
    assert torch.allclose(model.discriminator.bias.detach(), expected_bias, atol=1e-6)
    assert model.discriminator.bias.grad is None or model.discriminator.bias.grad.abs().sum() == 0


def test_label_flip_objective_pushes_toward_the_source_label():
    model = build(toy_cfg(domain_confusion=False))
    model.discriminator = ConstantDiscriminator()
    feats = torch.zeros(2, 16, 2, 4, requires_grad=True)
    steps = torch.zeros(2, dtype=torch.long)
    assert model.generator_loss(feats, steps, 'source') == {}  # the source is the reference
    loss = model.generator_loss(feats, steps, 'target')['loss_adv']
    assert loss.item() == pytest.approx(0.01 * math.log(6))  # lambda * -ln softmax_source
    confusion = build(toy_cfg()).generator_loss
    assert 'loss_adv' in confusion(feats, steps, 'source')


# ------------------------------------------------------------------ update order
def test_gan_update_order_discriminator_frozen_then_trained_on_detached_features():
    cfg = toy_cfg()
    model = build(cfg)
    optim = wrappers(model, cfg)
    calls = []
    disc = model.discriminator
    original_forward = disc.forward

    def spy_forward(features, timesteps=None):
        calls.append(dict(params_grad=[p.requires_grad for p in disc.parameters()],
                          features_grad=features.requires_grad, batch=features.shape[0]))
        return original_forward(features, timesteps)

    disc.forward = spy_forward
    student_params = [p for p in model.student.parameters() if p.requires_grad]
    disc_backward = optim['discriminator'].backward
    seen = {}

    def grads(params):
        return [None if p.grad is None else p.grad.clone() for p in params]

    def spy_backward(loss, **kwargs):
        seen['student_before'] = grads(student_params)
        seen['disc_before'] = grads(disc.parameters())
        disc_backward(loss, **kwargs)
        seen['student_after'] = grads(student_params)  # the student step clips in place later

    optim['discriminator'].backward = spy_backward
    log_vars = model.train_step(uda_batch(batch_size=2), optim)
    # three generator terms (source, mixed, target) with the discriminator frozen ...
    assert [c['params_grad'] for c in calls[:3]] == [[False] * len(calls[0]['params_grad'])] * 3
    assert [c['features_grad'] for c in calls[:3]] == [True, True, True]
    # ... then one discriminator pass on the detached, concatenated features of all domains
    assert len(calls) == 4 and all(calls[3]['params_grad']) and not calls[3]['features_grad']
    assert calls[3]['batch'] == 6
    assert all(g is None for g in seen['disc_before'])  # nothing reached D from the G terms
    for before, after in zip(seen['student_before'], seen['student_after']):
        assert (before is None and after is None) or torch.equal(before, after)
    assert {'src.loss_adv', 'mix.loss_adv', 'tgt.loss_adv', 'disc.acc', 'disc.acc_source',
            'disc.acc_mixed', 'disc.acc_target', 'disc.domain_ce'} <= set(log_vars)
    assert 'disc.domain_ce' not in [k for k in log_vars if 'loss' in k]  # not in the seg total


def test_each_optimiser_steps_only_its_own_parameters():
    cfg = toy_cfg()
    model = build(cfg)
    optim = wrappers(model, cfg)
    student_ids = {id(p) for g in optim['student'].param_groups for p in g['params']}
    disc_ids = {id(p) for g in optim['discriminator'].param_groups for p in g['params']}
    assert disc_ids == {id(p) for p in model.discriminator.parameters()}
    assert {id(p) for p in model.student.parameters() if p.requires_grad} <= student_ids
    assert not student_ids & disc_ids
    for frozen in ('student', 'discriminator'):
        model = build(cfg)
        optim = wrappers(model, cfg)
        for group in optim[frozen].param_groups:
            group['lr'] = 0.0  # AdamW's decay is lr-scaled: a zero lr leaves params unchanged
        nets = dict(student=model.student, discriminator=model.discriminator)
        before = {k: [p.detach().clone() for p in n.parameters()] for k, n in nets.items()}
        model.train_step(uda_batch(batch_size=2), optim)
        changed = {k: any(not torch.equal(a, p) for a, p in zip(before[k], n.parameters()))
                   for k, n in nets.items()}
        assert changed == {k: k != frozen for k in nets}


def test_without_discriminator_the_iteration_is_dacs():
    cfg = toy_cfg(discriminator=None)
    cfg.model.segmentor.backbone.train_timestep_range = None  # DACS's teacher passes no t
    iccld = build(cfg)
    dacs_cfg = dict(cfg.model, type='DACS')
    for key in ('discriminator', 'adversarial_weight', 'adversarial_feature', 'domains',
                'domain_confusion', 'pseudo_label_timestep'):
        dacs_cfg.pop(key)
    torch.manual_seed(0)
    dacs = MODELS.build(dacs_cfg)
    dacs.init_weights()
    dacs.train()
    assert type(dacs) is DACS
    results = []
    for model in (iccld, dacs):
        optim = OptimWrapper(torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=1e-3))
        torch.manual_seed(1)
        batch = uda_batch(batch_size=2)
        log_vars = model.train_step(batch, optim)
        results.append((log_vars, [p.detach().clone() for p in model.student.parameters()]))
    (iccld_log, iccld_params), (dacs_log, dacs_params) = results
    assert set(iccld_log) == set(dacs_log)
    assert all(torch.allclose(iccld_log[k], dacs_log[k]) for k in iccld_log)
    assert all(torch.equal(a, b) for a, b in zip(iccld_params, dacs_params))


def test_two_domain_variant_and_bad_settings():
    model = build(toy_cfg(domains=('source', 'target')))
    assert model.discriminator.num_domains == 2
    feats = torch.zeros(1, 16, 2, 4, requires_grad=True)
    assert model.generator_loss(feats, torch.zeros(1, dtype=torch.long), 'mixed') == {}
    with pytest.raises(ValueError, match='at least two'):
        build(toy_cfg(domains=('target', 'source')))
    with pytest.raises(ValueError, match='include "source"'):
        build(toy_cfg(domains=('mixed', 'target'), domain_confusion=False))
    cfg = toy_cfg()
    model = build(cfg)
    with pytest.raises(TypeError, match='ChildOptimWrapperConstructor'):
        model.train_step(uda_batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0)))
    student_only = OptimWrapperDict(student=wrappers(model, cfg)['student'])
    with pytest.raises(KeyError, match='discriminator'):
        model.train_step(uda_batch(), student_only)
    with pytest.raises(KeyError, match='have trainable parameters but no optimiser'):
        build_optim_wrapper(model, dict(constructor='ChildOptimWrapperConstructor',
                                        student=cfg.optim_wrapper.student))
    with pytest.raises(TypeError, match='LatentFeatureEncoderDecoder'):
        bad = toy_cfg()
        bad.model.segmentor.type = 'LatentEncoderDecoder'
        build(bad)


def test_timestep_conditioned_discriminator():
    torch.manual_seed(0)
    disc = LatentDomainDiscriminator(4, num_domains=3, channels=(8, ), timestep_dim=8)
    x = torch.randn(2, 4, 3, 5)
    out = disc(x, torch.tensor([0, 500]))
    assert out.shape == (2, 3, 3, 5)
    # the timestep changes the output; the same image at the same timestep does not
    assert not torch.allclose(out[0], disc(x[:1], torch.tensor([500]))[0])
    assert torch.allclose(out[1], disc(x[1:], torch.tensor([500]))[0], atol=1e-6)
    with pytest.raises(ValueError, match='timesteps are required'):
        disc(x)


# ------------------------------------------------------------------ configs
def test_toy_ablations_share_the_rest_of_the_recipe():
    full = Config.fromfile(TOY)
    no_ic = Config.fromfile(REPO / 'configs/toy/iccld-no-intercoder_sd-tiny_toy.py')
    no_adv = Config.fromfile(REPO / 'configs/toy/iccld-no-adversarial_sd-tiny_toy.py')
    probe = Config.fromfile(REPO / 'configs/toy/iccld-probe_sd-tiny_toy.py')
    assert probe.model.adversarial_weight == 0 < full.model.adversarial_weight
    probe.model.adversarial_weight = full.model.adversarial_weight
    assert probe.model == full.model and probe.optim_wrapper == full.optim_wrapper
    assert no_ic.model.segmentor.backbone.inter_coder is None
    assert no_ic.model.discriminator == full.model.discriminator
    assert no_adv.model.discriminator is None
    assert no_adv.model.segmentor == full.model.segmentor
    assert no_adv.optim_wrapper == full.optim_wrapper.student
    assert no_adv.param_scheduler == full.param_scheduler.student
    assert full.train_cfg.max_iters == no_ic.train_cfg.max_iters == no_adv.train_cfg.max_iters
    for cfg in (no_ic, no_adv, probe):
        model = MODELS.build(cfg.model)
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
        assert isinstance(optim, OptimWrapperDict) == (model.discriminator is not None)


@pytest.mark.parametrize('name', sorted(FULL))
def test_full_size_configs_build_sd15_architecture(name):
    cfg = Config.fromfile(REPO / FULL[name])
    assert cfg.model.type == 'ICCLD' and cfg.train_cfg.max_iters == 40000
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    cfg.model.segmentor.backbone.pretrained = None  # random SD v1-5 architecture
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    backbone = model.student.backbone
    assert sum(p.numel() for p in backbone.unet.parameters()) == 859_520_964  # SD v1 UNet
    assert 'backbone.unet' in model.teacher.shared_modules
    if name == 'no-intercoder':
        assert backbone.inter_coder is None and backbone.strides == [8, 16, 32]
    else:
        assert backbone.strides == [4, 8, 16, 32]
    if name == 'no-adversarial':
        assert model.discriminator is None and cfg.optim_wrapper.type == 'AmpOptimWrapper'
    else:
        deepest_tap = backbone.unet.config.block_out_channels[2]  # 1280
        assert model.discriminator.convs[0].in_channels == deepest_tap
        assert model.discriminator.num_domains == 3
        assert set(cfg.optim_wrapper) == {'constructor', 'student', 'discriminator'}
        assert set(cfg.param_scheduler) == {'student', 'discriminator'}
    if name == 'synthia2cs':
        metric = METRICS.build(cfg.val_evaluator)
        assert len(metric.subsets['mIoU16']) == 16 and len(metric.subsets['mIoU13']) == 13


# ------------------------------------------------------------------ tools end to end
@pytest.fixture(scope='module')
def toy_run(tmp_path_factory):
    """A converted toy tree (4 source, 4 target, 2 val images) and 2 trained iterations."""
    from mmseg_diffuda.toy import generate_toy_dataset
    root = tmp_path_factory.mktemp('iccld_tools')
    generate_toy_dataset(root / 'toy', num_source=4, num_target_train=4, num_target_val=2,
                         num_deliver_train=0, num_deliver_test=0)
    for converter, tree in (('gta5.py', 'gta'), ('cityscapes.py', 'cityscapes')):
        script = REPO / 'tools' / 'dataset_converters' / converter
        runpy.run_path(str(script), run_name='converter')['main'](
            [str(root / 'toy' / tree), '--nproc', '1'])
    loader = ['num_workers=0', 'persistent_workers=False']
    options = [f'train_dataloader.dataset.source.data_root={root}/toy/gta/',
               f'train_dataloader.dataset.target.data_root={root}/toy/cityscapes/',
               'train_dataloader.batch_size=2', 'default_hooks.checkpoint.interval=2',
               'default_hooks.checkpoint.max_keep_ckpts=3', 'default_hooks.logger.interval=1',
               'train_cfg.val_interval=4']
    for name in ('val', 'test'):
        options.append(f'{name}_dataloader.dataset.data_root={root}/toy/cityscapes/')
    for name in ('train', 'val', 'test'):
        options += [f'{name}_dataloader.{option}' for option in loader]
    work = root / 'work'
    output = check(run_tool('tools/train.py', str(TOY), '--work-dir', str(work),
                            '--cfg-options', *options, 'train_cfg.max_iters=2'))
    return dict(root=root, work=work, options=options, output=output)


@pytest.mark.slow
def test_toy_trains_with_both_optimisers_resumes_both_and_tests(toy_run):
    assert 'disc.acc: ' in toy_run['output'] and 'discriminator.lr: ' in toy_run['output']
    work, options = toy_run['work'], toy_run['options']
    output = check(run_tool('tools/train.py', str(TOY), '--work-dir', str(work), '--resume',
                            '--cfg-options', *options, 'train_cfg.max_iters=4'))
    assert 'resumed epoch: 0, iter: 2' in output
    before = from_plain_data(torch.load(work / 'iter_2.pth', weights_only=True))
    after = from_plain_data(torch.load(work / 'iter_4.pth', weights_only=True))
    for name in ('student', 'discriminator'):
        # Adam(W) step counters continue from the checkpoint: 2 before, 2 + 2 after resuming
        steps = [s['step'] for s in after['optimizer'][name]['state'].values()]
        assert steps and all(int(step) == 4 for step in steps), name
        assert all(int(s['step']) == 2 for s in before['optimizer'][name]['state'].values())
        assert len(after['param_schedulers'][name]) == len(before['param_schedulers'][name])
    assert int(after['state_dict']['local_iter']) == 4
    assert any(k.startswith('discriminator.') for k in after['state_dict'])
    output = check(run_tool('tools/test.py', str(TOY), str(work / 'iter_4.pth'), '--work-dir',
                            str(toy_run['root'] / 'test'), '--cfg-options', *options))
    assert 'mIoU: ' in output
