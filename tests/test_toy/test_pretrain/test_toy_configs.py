"""Every toy config starts from its toy foundation model through the real argument, exactly as the
full-size configs do (``init_cfg`` Pretrained, diffusers ``pretrained=``, open_clip
``pretrained=``); the configs in ``configs/toy/random-init/`` are the "no pretraining" ablation."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

import mmseg_diffuda  # noqa: F401
from mmseg_diffuda.models.utils.weights import check_pretrained_exists

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TOY = sorted(glob.glob(osp.join(REPO, 'configs/toy/*.py')) +
             glob.glob(osp.join(REPO, 'configs/madm/*toy*.py')))
RANDOM = sorted(glob.glob(osp.join(REPO, 'configs/toy/random-init/*.py')))
MIT = 'data/toy_models/mit-tiny/mit-tiny.pth'
register_all_modules()


def starts(cfg: Config) -> dict:
    """What a config's segmentor loads: MiT init_cfg, SD folder, CLIP weights."""
    seg = cfg.model.get('segmentor', cfg.model)
    backbone = seg.backbone
    init = backbone.get('init_cfg') or {}
    text = seg.get('language_head', {}).get('text_encoder', {})
    return dict(mit=init.get('checkpoint'), sd=backbone.get('pretrained'),
                clip=text.get('pretrained'))


@pytest.mark.parametrize('path', TOY, ids=lambda p: osp.basename(p))
def test_toy_config_loads_its_foundation_model(path):
    found = starts(Config.fromfile(path))
    loaded = [v for v in found.values() if v]
    assert loaded, f'{path} starts from random weights'
    assert all(v.startswith('data/toy_models/') for v in loaded), found
    if 'lcmsm-random-text' in path:  # the language-pretraining ablation: toy MiT, random text
        assert found['mit'] == MIT and found['clip'] is None
    elif 'lcmsm' in path:
        assert found['mit'] == MIT and found['clip'].startswith('data/toy_models/clip-tiny/')
    elif 'mitb0' in path:
        assert found['mit'] == MIT
    elif 'diff' in path:
        assert found['sd'] == 'data/toy_models/sd-tiny-v2'
    else:
        assert found['sd'] == 'data/toy_models/sd-tiny-v1'


@pytest.mark.parametrize('path', RANDOM, ids=lambda p: osp.basename(p))
def test_random_init_ablation_loads_nothing(path):
    assert not any(starts(Config.fromfile(path)).values())
    name = osp.basename(path)
    assert '-random-init' in name  # its own work_dir name
    twin = name.replace('-random-init', '')
    assert glob.glob(osp.join(REPO, 'configs', '*', twin)), f'no pretrained twin of {name}'


def test_missing_toy_model_names_the_command(tmp_path, monkeypatch):
    cfg = Config.fromfile(osp.join(REPO, 'configs/toy/daformer_mitb0-tiny_toy.py'))
    monkeypatch.chdir(tmp_path)  # no data/toy_models here
    with pytest.raises(FileNotFoundError, match='tools/pretrain_toy_models.py'):
        check_pretrained_exists(cfg)
    sd = Config.fromfile(osp.join(REPO, 'configs/madm/madm_tiny_toy-rgb2depth.py'))
    with pytest.raises(FileNotFoundError, match='pretrain_toy_models.py'):
        check_pretrained_exists(sd)


def test_toy_daformer_student_and_imagenet_encoder_start_from_the_toy_mit(monkeypatch):
    monkeypatch.chdir(REPO)
    cfg = Config.fromfile(osp.join(REPO, 'configs/toy/daformer_mitb0-tiny_toy.py'))
    model = MODELS.build(cfg.model)
    model.init_weights()
    saved = torch.load(MIT, weights_only=True)['state_dict']
    for module in (model.student.backbone, model.imnet_encoder.backbone):
        for key, value in module.state_dict().items():
            torch.testing.assert_close(value, saved[key])


def test_toy_madm_backbone_loads_the_toy_sd_folder(monkeypatch):
    from safetensors.torch import load_file
    monkeypatch.chdir(REPO)
    cfg = Config.fromfile(osp.join(REPO, 'configs/madm/madm_tiny_toy-rgb2depth.py'))
    backbone = MODELS.build(cfg.model).student.backbone
    saved = load_file(osp.join('data/toy_models/sd-tiny-v1/unet',
                               'diffusion_pytorch_model.safetensors'))
    state = backbone.unet.state_dict()
    for key, value in saved.items():
        torch.testing.assert_close(state[key], value)
    with open('data/toy_models/sd-tiny-v1/vae/config.json') as f:
        measured = json.load(f)['scaling_factor']
    assert backbone.vae.config.scaling_factor == pytest.approx(measured)
    assert measured != pytest.approx(cfg.tiny_vae_config.scaling_factor)  # not the random one
