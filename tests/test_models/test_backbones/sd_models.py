"""Tiny and full-size Stable Diffusion backbone configs and a tiny on-disk SD folder."""
import json
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_diffuda  # noqa: F401  (registers the models)

REPO = Path(__file__).resolve().parents[3]
TINY_CONFIG = REPO / 'configs/_base_/models/madm_tiny.py'
SD14_CONFIG = REPO / 'configs/_base_/models/madm_sd14.py'
HEIGHT, WIDTH = 64, 128  # toy crop
init_default_scope('mmseg')


def model_cfg(path: Path = TINY_CONFIG):
    """The ``model`` of a base model config, as the Runner passes it (a ConfigDict)."""
    return Config.fromfile(path).model


def random_init(cfg: Config) -> dict:
    """A toy SD backbone config built with random weights instead of the toy SD stack (as the
    configs in configs/toy/random-init/ do): no ``pretrained``, the random VAE's scaling factor."""
    backbone = cfg.model.backbone.to_dict()
    backbone.update(pretrained=None, vae_config=cfg.tiny_vae_config.to_dict())
    return backbone


def tiny_backbone_cfg(**overrides) -> dict:
    """The backbone of configs/_base_/models/madm_tiny.py, random weights, with ``overrides``."""
    cfg = random_init(Config.fromfile(TINY_CONFIG))
    cfg.update(overrides)
    return cfg


def build_tiny(seed: int = 0, **overrides):
    """A tiny random ``StableDiffusionBackbone`` (seeded, so two calls give equal weights)."""
    torch.manual_seed(seed)
    return MODELS.build(tiny_backbone_cfg(**overrides))


def images(batch: int = 2, height: int = HEIGHT, width: int = WIDTH, seed: int = 0):
    """Random images in [-1, 1], as the data preprocessor (mean = std = 127.5) gives them."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, height, width, generator=generator) * 2 - 1


def write_tokenizer(folder: Path) -> None:
    """A tiny but valid CLIP BPE tokenizer in SD's layout (vocab.json, merges.txt, config).

    Ids 49406 and 49407 are the start and end tokens, as in CLIP's vocabulary and the
    ``bos_token_id``/``eos_token_id`` of the tiny text encoder config; SD's tokenizer pads with the
    end token.
    """
    folder.mkdir(parents=True)
    vocab = {}
    for letter in 'abcdefghijklmnopqrstuvwxyz':
        vocab[letter] = len(vocab)
        vocab[letter + '</w>'] = len(vocab)
    vocab['ca'] = len(vocab)  # the one merge below
    vocab.update({'<|startoftext|>': 49406, '<|endoftext|>': 49407})
    (folder / 'vocab.json').write_text(json.dumps(vocab))
    (folder / 'merges.txt').write_text('#version: 0.2\nc a\n')
    (folder / 'tokenizer_config.json').write_text(json.dumps(dict(
        tokenizer_class='CLIPTokenizer', model_max_length=77, bos_token='<|startoftext|>',
        eos_token='<|endoftext|>', unk_token='<|endoftext|>', pad_token='<|endoftext|>')))


def save_sd_folder(backbone, root: Path) -> Path:
    """Write the backbone's SD models in the diffusers layout, as ``hf download`` gives it."""
    backbone.unet.save_pretrained(root / 'unet')
    backbone.vae.save_pretrained(root / 'vae')
    backbone.text_encoder.save_pretrained(root / 'text_encoder')
    backbone.scheduler.save_pretrained(root / 'scheduler')
    write_tokenizer(root / 'tokenizer')
    return root
