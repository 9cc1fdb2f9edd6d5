"""Tiny Stable Diffusion stack pretrained on the corpus, saved in the diffusers SD folder layout.

Stable Diffusion (Rombach et al., CVPR 2022) is an 8x ``AutoencoderKL`` plus a text-conditioned
``UNet2DConditionModel`` trained in its latent space with the DDPM epsilon objective on a
``scaled_linear`` 1000-step schedule (betas 0.00085..0.012), 10 % caption dropout for
classifier-free guidance and a latent ``scaling_factor`` of ``1 / std`` of the latents (0.18215 for
SD). The toy stack follows that recipe at toy size:

1. the VAE is trained on corpus crops (L2 reconstruction + a small KL term, SD's autoencoder adds
   perceptual and adversarial terms that a toy does not need), then ``scaling_factor`` is set to
   ``1 / std`` of the mean latents of the corpus, as SD measured its 0.18215;
2. the UNet learns ``eps`` from noised latents of corpus crops, conditioned on the CLIP text
   encoder's last hidden state of the caption (dropped to ``""`` with probability 0.1).

One deviation: SD v1 conditions on the *frozen* text encoder of OpenAI CLIP ViT-L/14. No tiny CLIP
text model in the transformers format exists, so the toy text encoder (a real ``CLIPTextModel`` with
CLIP's BPE tokenizer) is trained jointly with the UNet, as the text-to-image LDM of the same paper
trained its text transformer. The tokenizer is a real ``CLIPTokenizer`` whose ``vocab.json`` /
``merges.txt`` are built from the BPE merges that open_clip ships (the vocabulary of OpenAI CLIP),
so captions tokenize as SD's tokenizer tokenizes them.

The folder is written by ``StableDiffusionPipeline.save_pretrained`` (``model_index.json``,
``unet/``, ``vae/``, ``text_encoder/``, ``tokenizer/``, ``scheduler/``) and read back by
``from_pretrained`` exactly like a downloaded SD checkpoint.
"""
import gzip
import json
import os.path as osp
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .corpus import Corpus
from .training import (adamw_cosine, crop_batch, optimizer_step, progress_steps,
                       set_postfix)

#: Probability of replacing a caption by ``""`` (SD v1: 10 %).
CAPTION_DROPOUT = 0.1


def _bytes_to_unicode() -> Dict[int, str]:
    """CLIP's reversible byte -> printable unicode map (the base alphabet of its BPE)."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + \
        list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def write_clip_tokenizer(folder: str):
    """Write a ``CLIPTokenizer`` (vocab.json + merges.txt) built from open_clip's BPE merges.

    The vocabulary is OpenAI CLIP's: 256 byte symbols, the same with ``</w>``, 48,894 merges and the
    two special tokens, 49,408 ids in all (``<|startoftext|>`` 49406, ``<|endoftext|>`` 49407).

    Args:
        folder (str): Output folder (created by ``save_pretrained``).

    Returns:
        CLIPTokenizer: The tokenizer, as loaded back from ``folder``.
    """
    import tempfile

    from open_clip.tokenizer import default_bpe
    from transformers import CLIPTokenizer
    merges = gzip.open(default_bpe()).read().decode('utf-8').split('\n')
    merges = merges[1:49152 - 256 - 2 + 1]
    vocab = list(_bytes_to_unicode().values())
    vocab = vocab + [v + '</w>' for v in vocab]
    vocab += [''.join(m.split()) for m in merges]
    vocab += ['<|startoftext|>', '<|endoftext|>']
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file, merges_file = osp.join(tmp, 'vocab.json'), osp.join(tmp, 'merges.txt')
        with open(vocab_file, 'w', encoding='utf-8') as f:
            json.dump({token: i for i, token in enumerate(vocab)}, f, ensure_ascii=False)
        with open(merges_file, 'w', encoding='utf-8') as f:
            f.write('#version: 0.2\n' + '\n'.join(merges) + '\n')
        tokenizer = CLIPTokenizer(vocab_file, merges_file, model_max_length=77)
        tokenizer.save_pretrained(folder)
    return CLIPTokenizer.from_pretrained(folder)


def to_unit_range(batch: torch.Tensor) -> torch.Tensor:
    """RGB 0..255 -> [-1, 1] (SD's input range, as the MADM/DIFF data preprocessors)."""
    return batch / 127.5 - 1.0


def pretrain_vae(corpus: Corpus, vae_config: Dict, steps: int, batch_size: int, lr: float,
                 kl_weight: float, crop, seed: int, progress: bool = False):
    """Train an ``AutoencoderKL`` on corpus crops and set its ``scaling_factor``.

    Args:
        corpus (Corpus): The pretraining corpus.
        vae_config (dict): ``AutoencoderKL`` architecture (``scaling_factor`` is measured).
        steps (int): Optimisation steps.
        batch_size (int): Crops per step.
        lr (float): Peak learning rate.
        kl_weight (float): Weight of the KL term.
        crop (Sequence[int]): Crop size (h, w).
        seed (int): Seed of the initialisation and the batches.
        progress (bool): Show a progress bar.

    Returns:
        tuple[AutoencoderKL, Tensor]: The trained VAE (eval mode) with ``scaling_factor = 1 / std``
        of its mean latents on the corpus, and those (unscaled) latents.
    """
    from diffusers import AutoencoderKL
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        vae = AutoencoderKL.from_config({k: v for k, v in vae_config.items()
                                         if k != 'scaling_factor'})
        rng = np.random.default_rng(seed)
        optimizer, scheduler = adamw_cosine(vae.parameters(), lr, steps, weight_decay=0.0)
        vae.train()
        bar = progress_steps(steps, 'SD VAE', progress)
        for step in bar:
            images, _ = crop_batch(corpus.images, rng, batch_size, crop)
            x = to_unit_range(images)
            posterior = vae.encode(x).latent_dist
            recon = vae.decode(posterior.sample()).sample
            loss_rec = F.mse_loss(recon, x)
            loss_kl = posterior.kl().mean() / x[0].numel()
            loss = loss_rec + kl_weight * loss_kl
            optimizer_step(loss, optimizer, scheduler)
            if step % 10 == 0:
                set_postfix(bar, rec=loss_rec.item(), kl=loss_kl.item())
        vae.eval()
        latents = encode_corpus(vae, corpus)
    vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    return vae, latents


@torch.no_grad()
def encode_corpus(vae, corpus: Corpus, batch_size: int = 64) -> torch.Tensor:
    """Mean latents (unscaled) of every corpus image, (N, C, H/8, W/8)."""
    out = []
    for start in range(0, len(corpus), batch_size):
        images = torch.from_numpy(corpus.images[start:start + batch_size]).float()
        x = to_unit_range(images.permute(0, 3, 1, 2))
        out.append(vae.encode(x).latent_dist.mean)
    return torch.cat(out)


def tokenize(tokenizer, captions) -> torch.Tensor:
    """SD's tokenisation: padded to the 77-token context with ``<|endoftext|>``."""
    return tokenizer(list(captions), padding='max_length', max_length=tokenizer.model_max_length,
                     truncation=True, return_tensors='pt').input_ids


def pretrain_unet(corpus: Corpus, latents: torch.Tensor, unet_config: Dict,
                  text_encoder_config: Dict, scheduler_config: Dict, tokenizer, steps: int,
                  batch_size: int, lr: float, latent_crop, seed: int,
                  progress: bool = False) -> Tuple[nn.Module, nn.Module]:
    """Train a text-conditioned UNet (and its text encoder) with SD's epsilon objective.

    Args:
        corpus (Corpus): The pretraining corpus (captions).
        latents (Tensor): Scaled latents of the corpus images, (N, C, h, w).
        unet_config (dict): ``UNet2DConditionModel`` architecture.
        text_encoder_config (dict): ``CLIPTextConfig`` arguments.
        scheduler_config (dict): The DDPM schedule (SD's scaled_linear, 1000 steps).
        tokenizer: The CLIP tokenizer.
        steps (int): Optimisation steps.
        batch_size (int): Latent crops per step.
        lr (float): Peak learning rate.
        latent_crop (Sequence[int]): Latent crop size (h, w).
        seed (int): Seed of the initialisation, batches, noise, timesteps and caption dropout.
        progress (bool): Show a progress bar.

    Returns:
        tuple[UNet2DConditionModel, CLIPTextModel]: Both trained, in eval mode.
    """
    from diffusers import DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    scheduler = DDPMScheduler.from_config(scheduler_config)
    ids = tokenize(tokenizer, corpus.captions)
    empty = tokenize(tokenizer, [''])[0]
    channels_last = latents.permute(0, 2, 3, 1).numpy()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel.from_config(unet_config)
        text_encoder = CLIPTextModel(CLIPTextConfig(**text_encoder_config))
        rng = np.random.default_rng(seed)
        generator = torch.Generator().manual_seed(seed)
        params = list(unet.parameters()) + list(text_encoder.parameters())
        optimizer, scheduler_lr = adamw_cosine(params, lr, steps, weight_decay=0.01)
        unet.train()
        text_encoder.train()
        bar = progress_steps(steps, 'SD UNet', progress)
        for step in bar:
            x0, idx = crop_batch(channels_last, rng, batch_size, latent_crop)
            tokens = ids[idx].clone()
            drop = torch.from_numpy(rng.random(batch_size) < CAPTION_DROPOUT)
            tokens[drop] = empty
            noise = torch.randn(x0.shape, generator=generator)
            t = torch.randint(0, scheduler.config.num_train_timesteps, (batch_size, ),
                              generator=generator)
            xt = scheduler.add_noise(x0, noise, t)
            context = text_encoder(tokens)[0]
            loss = F.mse_loss(unet(xt, t, encoder_hidden_states=context).sample, noise)
            optimizer_step(loss, optimizer, scheduler_lr)
            if step % 10 == 0:
                set_postfix(bar, eps=loss.item())
    return unet.eval(), text_encoder.eval()


def pndm_scheduler_config(scheduler_config: Dict) -> Dict:
    """The ``scheduler/`` entry of SD v1 folders: PNDM on the training betas."""
    return dict(scheduler_config, skip_prk_steps=True, steps_offset=1, set_alpha_to_one=False,
                clip_sample=False)


def save_sd_folder(folder: str, unet, vae, text_encoder, tokenizer, scheduler_config: Dict) -> None:
    """Write the SD folder layout with ``StableDiffusionPipeline.save_pretrained``.

    Args:
        folder (str): Output folder.
        unet: The UNet.
        vae: The VAE.
        text_encoder: The CLIP text encoder.
        tokenizer: The CLIP tokenizer.
        scheduler_config (dict): The DDPM schedule (written as SD v1's PNDM scheduler config).
    """
    from diffusers import PNDMScheduler, StableDiffusionPipeline
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=PNDMScheduler.from_config(pndm_scheduler_config(scheduler_config)),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
