"""Weight decay 0 on every MiT normalisation layer, as DAFormer's optimiser groups have it.

DAFormer's MiT (``mix_transformer.py``) names its stage-end LayerNorms ``norm1..norm4``, so its
``custom_keys=dict(norm=dict(decay_mult=0.0))`` exempts them; mmseg 1.x's ``MixVisionTransformer``
names them ``layers.<i>.2``, which ``norm`` misses. The schedules add a key per stage. This test
builds each MiT-based config's model and optimiser and lists the parameter groups: every
parameter of a backbone LayerNorm has weight decay 0, and the other parameters keep DAFormer's
settings (decay 0.01; the decode head's BatchNorms keep decay, as in DAFormer, whose ConvModule
names them ``bn``).
"""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from torch import nn

import mmseg_diffuda  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
init_default_scope('mmseg')

MIT_CONFIGS = [
    'configs/toy/daformer_mitb0-tiny_toy.py',
    'configs/toy/mic_mitb0-tiny_toy.py',
    'configs/toy/lcmsm_mitb0-tiny_toy.py',
    'configs/toy/crossmatch_mitb0-tiny_toy.py',
    'configs/toy/source-only_mitb0-tiny_toy.py',
    'configs/toy/oracle_mitb0-tiny_toy.py',
    'configs/toy/segformer_mitb0-tiny_toy-source.py',
]
FULL_SIZE_MIT_CONFIGS = [
    'configs/daformer/daformer_mitb5_gta2cs-512x512.py',
    'configs/mic/mic_daformer_mitb5_gta2cs-512x512.py',
    'configs/lc_msm/lcmsm_daformer_mitb5_gta2cs-512x512.py',
    'configs/crossmatch/crossmatch_daformer_mitb5_gta2cs-512x512.py',
    'configs/crossmatch/source-only_daformer_mitb5_gta-512x512.py',
]


def parameter_groups(config: str) -> dict:
    """``{parameter name: (weight_decay, lr)}`` of the config's optimiser."""
    cfg = Config.fromfile(REPO / config)
    model = MODELS.build(cfg.model)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    names = {id(param): name for name, param in model.named_parameters()}
    return {
        names[id(param)]: (group['weight_decay'], group['lr'])
        for group in optim_wrapper.optimizer.param_groups for param in group['params']
    }


def backbone_norm_parameters(config: str) -> list:
    cfg = Config.fromfile(REPO / config)
    model = MODELS.build(cfg.model)
    return [
        f'{module_name}.{name}' for module_name, module in model.named_modules()
        if isinstance(module, nn.LayerNorm) and '.backbone.' in f'.{module_name}'
        for name, _ in module.named_parameters(recurse=False)
    ]


@pytest.mark.parametrize('config', MIT_CONFIGS)
def test_mit_norms_have_no_weight_decay(config):
    groups = parameter_groups(config)
    norms = [name for name in backbone_norm_parameters(config) if name in groups]
    stage_ends = [name for name in norms if '.layers.3.2.' in name]
    # weight and bias of the last stage-end norm (of the student, and of CrossMatch's auxiliary)
    assert stage_ends and len(stage_ends) % 2 == 0, stage_ends
    decayed = {name: groups[name][0] for name in norms if groups[name][0] != 0}
    assert not decayed, f'backbone LayerNorms with weight decay: {decayed}'
    # Everything else keeps DAFormer's groups: decay on the weights of linear layers/convs.
    linear = [n for n in groups if n.endswith('backbone.layers.3.1.0.ffn.layers.1.weight')]
    assert linear and all(groups[n][0] > 0 for n in linear)
    head_bn = [n for n in groups if 'decode_head' in n and '.bn.weight' in n]
    assert head_bn and all(groups[n][0] > 0 for n in head_bn)


@pytest.mark.parametrize('config', FULL_SIZE_MIT_CONFIGS)
def test_full_size_mit_configs_exempt_the_stage_end_norms(config):
    custom_keys = Config.fromfile(REPO / config).optim_wrapper.paramwise_cfg.custom_keys
    for stage in range(4):
        assert custom_keys[f'backbone.layers.{stage}.2.'] == dict(decay_mult=0.0)
    assert custom_keys['norm'] == dict(decay_mult=0.0)
