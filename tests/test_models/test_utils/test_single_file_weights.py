"""Single-file Stable Diffusion checkpoints (.safetensors / .ckpt, LDM layout) via from_single_file.

A tiny random UNet, VAE and CLIP text encoder are written in the original single-file layout with
their LDM yaml next to them (:mod:`.ldm_layout`) and loaded back through
``build_sd_components(pretrained=<file>)``, the loader every diffusion backbone uses.
"""
import pytest
import torch

from mmseg_diffuda.models.utils.diffusion_weights import (DiffusionWeightsNotFoundError,
                                                          build_sd_components)
from mmseg_diffuda.models.utils.single_file_weights import is_single_file

from .ldm_layout import TEXT_CONFIG, UNET_CONFIG, VAE_CONFIG, write_single_file

SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
                 beta_schedule='scaled_linear')


def load(path, **overrides):
    kwargs = dict(unet_config=UNET_CONFIG, vae_config=VAE_CONFIG,
                  text_encoder_config=TEXT_CONFIG, scheduler_config=SCHEDULER)
    kwargs.update(overrides)
    return build_sd_components(str(path), **kwargs)


@pytest.mark.parametrize('name', ['tiny.safetensors', 'tiny.ckpt'])
def test_single_file_loads_the_saved_weights(tmp_path, name, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    saved = write_single_file(tmp_path, name)
    parts = load(saved['path'])
    for component in ('unet', 'vae', 'text_encoder'):
        expected = saved[component].state_dict()
        loaded = getattr(parts, component).state_dict()
        assert set(loaded) == set(expected), component
        for key, value in expected.items():  # VAE attention: LDM 1x1 convs back to linears
            assert torch.equal(loaded[key].reshape(value.shape), value), key
    assert parts.tokenizer is None  # no tokenizer/ folder next to the file
    assert parts.scheduler.config.num_train_timesteps == 1000
    latent = torch.randn(1, 4, 8, 8)
    context = torch.randn(1, 77, 16)
    with torch.no_grad():
        torch.testing.assert_close(parts.unet(latent, 10, context).sample,
                                   saved['unet'](latent, 10, context).sample)


def test_single_file_config_is_checked(tmp_path):
    saved = write_single_file(tmp_path, 'tiny.safetensors')
    with pytest.raises(ValueError, match='cross_attention_dim: config 768, weights 16'):
        load(saved['path'], unet_config=dict(UNET_CONFIG, cross_attention_dim=768))
    with pytest.raises(ValueError, match='text_encoder_config is required'):
        load(saved['path'], text_encoder_config=None)


def test_single_file_without_its_yaml_names_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    saved = write_single_file(tmp_path, 'tiny.safetensors')
    saved['path'].with_suffix('.yaml').unlink()
    with pytest.raises(DiffusionWeightsNotFoundError) as error:
        load(saved['path'])
    assert str(tmp_path / 'tiny.yaml') in str(error.value)


def test_missing_path_names_both_accepted_forms(tmp_path):
    for missing in ('absent.safetensors', 'absent-folder'):
        with pytest.raises(DiffusionWeightsNotFoundError) as error:
            load(tmp_path / missing)
        message = str(error.value)
        assert 'diffusers folder' in message and '*.safetensors or *.ckpt' in message
        assert str(tmp_path / missing) in message
    assert is_single_file('sd.ckpt') and not is_single_file('pretrained/stable-diffusion-v1-4')
