"""Toy foundation models: the files the real loaders accept, determinism, the cache.

The models here are trained for a few steps on a few corpus images (the suite's smoke schedule,
``tests/conftest.py``); what the full recipe achieves is measured by
``benchmarks/toy_models_probe.py`` (docs/benchmarks.md).
"""
import hashlib
import json
import os
import os.path as osp

import pytest
import torch

from mmseg_diffuda.toy.pretrain.build import COMPLETE, MIT_FILE, build_toy_models
from mmseg_diffuda.toy.pretrain.recipe import (DEFAULT_SCHEDULES, FOLDERS, full_recipe,
                                               recipe_key)
from tests.conftest import smoke_schedules, toy_architectures


@pytest.fixture(scope='module')
def archs():
    return toy_architectures()


@pytest.fixture(scope='module')
def built(tmp_path_factory, archs):
    """All four models, smoke schedule, in a private cache (one worker: in-process)."""
    root = tmp_path_factory.mktemp('toy_models')
    folders = build_toy_models(str(root / 'links'), archs, schedules=smoke_schedules(),
                               cache_dir=str(root / 'cache'), progress=False, workers=1,
                               log=lambda line: None)
    return root, folders


def file_digests(folder: str) -> dict:
    out = {}
    for base, _, files in os.walk(folder):
        for name in files:
            if name.endswith(('.safetensors', '.bin', '.pth')):
                path = osp.join(base, name)
                with open(path, 'rb') as f:
                    out[osp.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return out


def test_sd_folder_loads_with_diffusers_and_the_project_loader(built, archs):
    from diffusers import StableDiffusionPipeline

    from mmseg_diffuda.models.utils.diffusion_weights import build_sd_components
    root, folders = built
    link = root / 'links' / FOLDERS['sd']
    assert osp.islink(link) and osp.realpath(link) == osp.realpath(folders['sd'])
    for sub in ('model_index.json', 'unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'):
        assert (link / sub).exists(), sub
    pipe = StableDiffusionPipeline.from_pretrained(str(link), local_files_only=True,
                                                   safety_checker=None)
    assert pipe.unet.config.cross_attention_dim == archs['sd']['unet']['cross_attention_dim']
    vae = {k: v for k, v in archs['sd']['vae'].items() if k != 'scaling_factor'}
    parts = build_sd_components(str(link), archs['sd']['unet'], vae, archs['sd']['text_encoder'],
                                archs['sd']['scheduler'])
    # the scaling factor was measured (1 / std of the mean latents), not the random default
    assert parts.vae.config.scaling_factor != 0.18215
    # the tokenizer is CLIP's: the same ids as open_clip's bundled BPE tokenizer up to the end
    # token; SD's tokenizer then pads with <|endoftext|> (49407) where open_clip pads with 0
    import open_clip
    text = 'a depth map of a street with buildings, trees and two persons'
    ours = parts.tokenizer(text, padding='max_length', max_length=77).input_ids
    theirs = open_clip.get_tokenizer('ViT-B-32')([text])[0].tolist()
    end = theirs.index(49407) + 1
    assert ours[:end] == theirs[:end] and len(ours) == 77
    assert set(ours[end:]) == {49407} and set(theirs[end:]) == {0}


def test_sd2_reuses_the_v1_vae(built):
    _, folders = built
    assert file_digests(osp.join(folders['sd'], 'vae')) == \
        file_digests(osp.join(folders['sd2'], 'vae'))
    assert file_digests(osp.join(folders['sd'], 'unet')) != \
        file_digests(osp.join(folders['sd2'], 'unet'))


def test_clip_folder_loads_with_open_clip_and_the_text_tower(built):
    import open_clip

    from mmseg_diffuda.models.utils.text_embeddings import build_text_tower
    root, folders = built
    folder = str(root / 'links' / FOLDERS['clip'])
    model = open_clip.create_model(f'local-dir:{folder}')
    saved = torch.load(osp.join(folder, 'open_clip_pytorch_model.bin'), weights_only=True)
    torch.testing.assert_close(model.state_dict()['text_projection'], saved['text_projection'])
    tower = build_text_tower(f'local-dir:{folder}',
                             pretrained=osp.join(folder, 'open_clip_pytorch_model.bin'))
    torch.testing.assert_close(tower.text_projection, saved['text_projection'])


def test_mit_checkpoint_loads_through_init_cfg_pretrained(built, archs):
    from mmseg.registry import MODELS
    root, _ = built
    path = str(root / 'links' / FOLDERS['mit'] / MIT_FILE)
    backbone = MODELS.build(dict(archs['mit'], init_cfg=dict(type='Pretrained', checkpoint=path)))
    backbone.init_weights()
    saved = torch.load(path, weights_only=True)['state_dict']
    assert set(saved) == set(backbone.state_dict())
    for key, value in backbone.state_dict().items():
        torch.testing.assert_close(value, saved[key])


def test_same_seed_same_files(built, archs, tmp_path):
    _, folders = built
    again = build_toy_models(str(tmp_path / 'links'), archs, ['mit', 'clip'],
                             schedules=smoke_schedules(), cache_dir=str(tmp_path / 'cache'),
                             progress=False, workers=2, log=lambda line: None)
    for name in ('mit', 'clip'):
        assert osp.basename(again[name]) == osp.basename(folders[name])  # same key
        assert file_digests(again[name]) == file_digests(folders[name])  # same bytes


def test_cache_is_reused_and_key_follows_the_recipe(built, archs):
    root, folders = built
    lines = []
    build_toy_models(str(root / 'links'), archs, ['mit'], schedules=smoke_schedules(),
                     cache_dir=str(root / 'cache'), progress=False, log=lines.append)
    assert lines == [f'[toy models] {FOLDERS["mit"]}: cached ({folders["mit"]})']
    base = full_recipe('mit', archs, smoke_schedules())
    assert recipe_key('mit', base) == recipe_key('mit', json.loads(json.dumps(base)))
    longer = smoke_schedules()
    longer['mit']['steps'] += 1
    assert recipe_key('mit', full_recipe('mit', archs, longer)) != recipe_key('mit', base)
    wider = dict(archs, mit=dict(archs['mit'], embed_dims=32))
    assert recipe_key('mit', full_recipe('mit', wider, smoke_schedules())) != \
        recipe_key('mit', base)
    assert full_recipe('sd2', archs)['vae_from'] == full_recipe('sd', archs)
    assert DEFAULT_SCHEDULES['corpus']['per_style'] > smoke_schedules()['corpus']['per_style']


def test_a_failed_build_leaves_nothing_to_reuse(archs, tmp_path, monkeypatch):
    from mmseg_diffuda.toy.pretrain import build

    def boom(*args, **kwargs):
        raise RuntimeError('killed')

    monkeypatch.setitem(build._BUILDERS, 'mit', boom)
    with pytest.raises(RuntimeError, match='killed'):
        build_toy_models(str(tmp_path / 'links'), archs, ['mit'], schedules=smoke_schedules(),
                         cache_dir=str(tmp_path / 'cache'), progress=False, workers=1,
                         log=lambda line: None)
    assert os.listdir(tmp_path / 'cache') == []
    assert not (tmp_path / 'links' / FOLDERS['mit']).exists()


def test_complete_marker_and_unknown_model(built, archs, tmp_path):
    _, folders = built
    assert all(osp.isfile(osp.join(f, COMPLETE)) for f in folders.values())
    with pytest.raises(KeyError, match='Unknown toy models'):
        build_toy_models(str(tmp_path), archs, ['mit', 'imagenet'])


@pytest.mark.parametrize('prob, expected', [(0.0, 0), (1.0, 4)])
def test_clip_short_captions_replace_the_drawn_share_of_pairs(archs, monkeypatch, prob, expected):
    from mmseg_diffuda.toy.pretrain import clip as clip_module
    from mmseg_diffuda.toy.pretrain.corpus import make_corpus
    calls, original = [], clip_module.short_caption

    def recording(style, tags, rng):
        calls.append(original(style, tags, rng))
        return calls[-1]

    monkeypatch.setattr(clip_module, 'short_caption', recording)
    clip_module.pretrain_clip(make_corpus(1), archs['clip'], steps=1, batch_size=4, lr=1e-3,
                              crop=(64, 128), seed=0, short_caption_prob=prob)
    assert len(calls) == expected
