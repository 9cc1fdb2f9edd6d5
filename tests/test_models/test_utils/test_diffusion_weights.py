import shutil

import pytest
import torch

from mmseg_diffuda.models.utils import DiffusionWeightsNotFoundError, build_sd_components
from mmseg_diffuda.models.utils.diffusion_weights import check_config, resolve_pretrained

from ..test_backbones.sd_models import build_tiny, model_cfg, save_sd_folder

NO_CONFIGS = dict(unet_config=None, vae_config=None, text_encoder_config=None,
                  scheduler_config=None)


@pytest.fixture(scope='module')
def sd_folder(tmp_path_factory):
    """A tiny SD folder in the diffusers layout, and the backbone its models come from."""
    source = build_tiny()
    return save_sd_folder(source, tmp_path_factory.mktemp('sd') / 'tiny-sd'), source


def copy_of(sd_folder, tmp_path):
    root, _ = sd_folder
    return shutil.copytree(root, tmp_path / 'copy')


def test_pretrained_round_trip_loads_the_saved_models(sd_folder):
    root, source = sd_folder
    loaded = build_tiny(pretrained=str(root), **NO_CONFIGS)
    for name in ('unet', 'vae', 'text_encoder'):
        saved, read = getattr(source, name).state_dict(), getattr(loaded, name).state_dict()
        assert saved.keys() == read.keys()
        assert all(torch.equal(saved[k], read[k]) for k in saved), name
    assert torch.equal(loaded.scheduler.alphas_cumprod, source.scheduler.alphas_cumprod)
    # E("") through the real tokenizer: ids [bos, eos, eos, ...] as the config-built path
    tokenizer = build_sd_components(str(root), components=('tokenizer', )).tokenizer
    ids = tokenizer('', padding='max_length', max_length=77, return_tensors='pt').input_ids
    assert ids[0, :3].tolist() == [49406, 49407, 49407]
    fresh = loaded.text_encoder(input_ids=ids).last_hidden_state
    assert torch.allclose(loaded.empty_prompt_embedding, fresh)
    assert torch.allclose(loaded.empty_prompt_embedding, source.empty_prompt_embedding)


def test_config_next_to_pretrained_is_checked(sd_folder):
    root, _ = sd_folder
    build_tiny(pretrained=str(root))  # the tiny configs match the saved models
    unet = model_cfg().backbone.unet_config.to_dict()
    with pytest.raises(ValueError, match='cross_attention_dim: config 32, weights 16'):
        build_tiny(pretrained=str(root), unet_config=dict(unet, cross_attention_dim=32))


def test_check_config_compares_named_keys_only():
    check_config('unet', dict(block_out_channels=[8, 16], other=1),
                 dict(block_out_channels=(8, 16)))  # JSON lists equal config tuples
    check_config('unet', dict(a=1), None)
    with pytest.raises(ValueError, match="layers_per_block: config 2, weights 1"):
        check_config('unet', dict(layers_per_block=1), dict(layers_per_block=2))
    with pytest.raises(ValueError, match="missing: config 1, weights '<absent>'"):
        check_config('vae', dict(), dict(missing=1))


def test_missing_folder_names_the_layout_and_the_download(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # a relative folder that looks like a hub id: neither a folder nor a cached model
    with pytest.raises(DiffusionWeightsNotFoundError) as error:
        build_sd_components('pretrained/stable-diffusion-v1-4')
    message = str(error.value)
    assert isinstance(error.value, FileNotFoundError)
    assert "pretrained='pretrained/stable-diffusion-v1-4'" in message
    assert 'not in the local Hugging Face cache' in message
    for subfolder in ('unet/', 'vae/', 'text_encoder/', 'tokenizer/', 'scheduler/'):
        assert subfolder in message
    assert 'hf download CompVis/stable-diffusion-v1-4' in message
    assert '--local-dir pretrained/stable-diffusion-v1-4' in message
    assert 'connect' not in message  # not diffusers' hub-connection message
    with pytest.raises(DiffusionWeightsNotFoundError, match='does not exist'):
        build_sd_components(str(tmp_path / 'no' / 'such' / 'folder'))


@pytest.mark.parametrize('pretrained, command', [
    ('pretrained/stable-diffusion-2-1',
     'hf download stabilityai/stable-diffusion-2-1'),
    ('CompVis/stable-diffusion-v1-4',
     'hf download CompVis/stable-diffusion-v1-4'),
    ('my-org/my-sd', 'hf download my-org/my-sd'),
])
def test_download_command_names_the_model_of_the_folder(pretrained, command):
    from mmseg_diffuda.models.utils.diffusion_weights import missing_weights_message
    message = missing_weights_message(pretrained, 'missing')
    assert command in message
    local_dir = pretrained if pretrained.startswith('pretrained/') else \
        f'pretrained/{pretrained.split("/")[-1]}'
    assert f'--local-dir {local_dir}' in message


def test_incomplete_folders_name_the_missing_part(sd_folder, tmp_path):
    root = copy_of(sd_folder, tmp_path)
    shutil.rmtree(root / 'vae')
    with pytest.raises(DiffusionWeightsNotFoundError, match='subfolder vae/ is missing'):
        build_tiny(pretrained=str(root), **NO_CONFIGS)
    # components not asked for are not required
    assert build_sd_components(str(root), components=('unet', )).vae is None
    for path in (root / 'unet').glob('diffusion_pytorch_model.*'):
        path.unlink()
    with pytest.raises(DiffusionWeightsNotFoundError, match='diffusion_pytorch_model'):
        resolve_pretrained(str(root), ('unet', ))
    (root / 'tokenizer' / 'merges.txt').unlink()
    # CLIPTokenizer itself would silently return an empty tokenizer here
    with pytest.raises(DiffusionWeightsNotFoundError, match='merges.txt'):
        build_sd_components(str(root), components=('tokenizer', ))


def test_unreadable_weights_are_reported_with_the_layout(sd_folder, tmp_path):
    root = copy_of(sd_folder, tmp_path)
    (root / 'scheduler' / 'scheduler_config.json').write_text('{not json')
    with pytest.raises(DiffusionWeightsNotFoundError, match='could not be read from'):
        build_sd_components(str(root), components=('scheduler', ))


def test_random_models_need_their_configs():
    with pytest.raises(ValueError, match='unet_config=dict'):
        build_sd_components(components=('unet', ))
    with pytest.raises(KeyError, match='Unknown Stable Diffusion components'):
        build_sd_components(components=('controlnet', ))
    unet_cfg = model_cfg().backbone.unet_config.to_dict()
    parts = build_sd_components(unet_config=unet_cfg, components=('unet', ))
    assert list(parts.unet.config.block_out_channels) == [8, 16, 16, 32]
    assert parts.vae is parts.text_encoder is parts.tokenizer is parts.scheduler is None
