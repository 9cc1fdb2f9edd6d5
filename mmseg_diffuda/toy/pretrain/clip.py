"""Tiny CLIP trained contrastively on corpus image/caption pairs, saved as an open_clip model.

CLIP (Radford et al., ICML 2021) and OpenCLIP (Cherti et al., CVPR 2023) learn an image and a text
tower with the symmetric InfoNCE loss over a batch of image/caption pairs and a learnable
temperature. LC-MSM (Kim et al., Pattern Recognition 2024) reads class-name embeddings from the
frozen OpenCLIP text tower. The toy CLIP is built by open_clip's own factory from a tiny model
config (a ViT image tower and CLIP's text transformer with the bundled BPE tokenizer), trained with
open_clip's ``ClipLoss`` on corpus pairs, and saved in the layout open_clip models ship in on the
Hugging Face hub: ``open_clip_config.json`` (``model_cfg`` + ``preprocess_cfg``) and
``open_clip_pytorch_model.bin`` (the state dict). ``open_clip.create_model('local-dir:<folder>')``
loads it, as the project's text-tower loader does with
``pretrained='<folder>/open_clip_pytorch_model.bin'``.
"""
import json
import os
import os.path as osp
from typing import Dict

import numpy as np
import torch

from .corpus import Corpus, short_caption
from .training import (adamw_cosine, crop_batch, optimizer_step, progress_steps,
                       set_postfix)

#: File names of an open_clip model folder (as on the hub).
CONFIG_FILE = 'open_clip_config.json'
WEIGHTS_FILE = 'open_clip_pytorch_model.bin'
#: OpenAI CLIP's normalisation, open_clip's default ``preprocess_cfg``.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def build_clip(model_cfg: Dict, seed: int):
    """Build an open_clip ``CLIP`` from a model config with open_clip's factory (random weights).

    The config is written to a temporary ``local-dir`` folder, so the model comes from
    ``open_clip.create_model`` exactly as a downloaded one does (no registry is modified).

    Args:
        model_cfg (dict): open_clip model config (``embed_dim``, ``vision_cfg``, ``text_cfg``).
        seed (int): Seed of the initialisation.

    Returns:
        open_clip.CLIP: The model.
    """
    import tempfile

    import open_clip
    with tempfile.TemporaryDirectory() as tmp:
        write_clip_config(tmp, model_cfg)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return open_clip.create_model(f'local-dir:{tmp}', load_weights=False,
                                            output_dict=True)


def write_clip_config(folder: str, model_cfg: Dict) -> None:
    """Write ``open_clip_config.json`` (model and preprocessing config)."""
    os.makedirs(folder, exist_ok=True)
    config = dict(model_cfg=model_cfg,
                  preprocess_cfg=dict(mean=list(CLIP_MEAN), std=list(CLIP_STD)))
    with open(osp.join(folder, CONFIG_FILE), 'w', encoding='utf-8') as f:
        json.dump(config, f, indent=2)


def normalise_clip(batch: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB 0..255 -> CLIP-normalised."""
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1) * 255.0
    return (batch - mean) / std


def pretrain_clip(corpus: Corpus, model_cfg: Dict, steps: int, batch_size: int, lr: float,
                  crop, seed: int, short_caption_prob: float = 0.0, progress: bool = False):
    """Contrastive image/caption training of a tiny open_clip model.

    Each pair's caption is the corpus caption or, with probability ``short_caption_prob``, a
    short caption naming the style and one class the image shows
    (:func:`~mmseg_diffuda.toy.pretrain.corpus.short_caption`): the corpus captions list the same
    common classes for almost every image, so from them alone the toy CLIP learns styles but not
    what one class name means (docs/toy_data.md).

    Args:
        corpus (Corpus): The pretraining corpus.
        model_cfg (dict): open_clip model config; ``vision_cfg.image_size`` must equal ``crop``.
        steps (int): Optimisation steps.
        batch_size (int): Pairs per step.
        lr (float): Peak learning rate.
        crop (Sequence[int]): Image crop (h, w).
        seed (int): Seed of the initialisation, the batches and the caption draws.
        short_caption_prob (float): Probability of a short caption. Defaults to 0.
        progress (bool): Show a progress bar.

    Returns:
        open_clip.CLIP: The trained model (eval mode).
    """
    import open_clip
    model = build_clip(model_cfg, seed)
    tokenizer = open_clip.get_tokenizer('ViT-B-32',
                                        context_length=model_cfg['text_cfg']['context_length'])
    tokens = tokenizer(corpus.captions)
    loss_fn = open_clip.ClipLoss()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        caption_rng = np.random.default_rng([seed, 1])
        optimizer, scheduler = adamw_cosine(model.parameters(), lr, steps, weight_decay=0.1)
        model.train()
        bar = progress_steps(steps, 'CLIP', progress)
        for step in bar:
            images, idx = crop_batch(corpus.images, rng, batch_size, crop)
            batch_tokens = tokens[idx].clone()
            short = np.flatnonzero(caption_rng.random(len(idx)) < short_caption_prob)
            if len(short):
                batch_tokens[short] = tokenizer([
                    short_caption(int(corpus.styles[i]), corpus.tags[i], caption_rng)
                    for i in np.asarray(idx)[short]])
            out = model(normalise_clip(images), batch_tokens)
            loss = loss_fn(out['image_features'], out['text_features'], out['logit_scale'])
            optimizer_step(loss, optimizer, scheduler)
            with torch.no_grad():  # CLIP clamps the temperature at 100
                model.logit_scale.clamp_(0, np.log(100))
            if step % 10 == 0:
                set_postfix(bar, infonce=loss.item())
    return model.eval()


def save_clip_folder(folder: str, model, model_cfg: Dict) -> str:
    """Write the open_clip folder (config + weights); return the weights file."""
    write_clip_config(folder, model_cfg)
    path = osp.join(folder, WEIGHTS_FILE)
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, path)
    return path
