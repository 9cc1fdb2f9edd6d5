"""The toy pretraining recipe and its cache key.

Architectures come from the toy model configs (the single place that defines them, so a config and
the weights it loads cannot drift; the loaders check it again); this module holds what is not an
architecture: the corpus size and the schedules. The cache key hashes both with
:data:`CORPUS_VERSION`, so a change of either re-trains.
"""
import copy
import hashlib
import json
import os
import os.path as osp
from typing import Dict

#: Bump when the corpus generator (scenes, styles, captions) changes what it renders.
CORPUS_VERSION = 1

#: Where the models are cached (outside any clone, like the mmcv wheel).
DEFAULT_CACHE = osp.join(os.environ.get('XDG_CACHE_HOME', osp.expanduser('~/.cache')),
                         'mmseg-diffuda', 'toy_models')

#: The models, their sub-folder names under ``data/toy_models`` and what loads them.
MODEL_NAMES = ('mit', 'sd', 'sd2', 'clip')
FOLDERS = {'mit': 'mit-tiny', 'sd': 'sd-tiny-v1', 'sd2': 'sd-tiny-v2', 'clip': 'clip-tiny'}

#: Schedules, sized for about 11 minutes for all models on 2 CPU cores: two parallel chains of one
#: thread each (SD v1 VAE + UNet, then the SD 2.x UNet | MiT, then CLIP), measured per step with one
#: thread: VAE 0.15 s (batch 16), UNet 0.10 s, MiT 0.05 s, CLIP 0.16 s (docs/toy_data.md).
DEFAULT_SCHEDULES: Dict[str, Dict] = dict(
    corpus=dict(per_style=300, seed=0, height=96, width=192),  # 11 styles: 3300 images
    mit=dict(steps=6000, batch_size=32, lr=2e-3, crop=(64, 128), seed=0,
             colour_jitter=0.4, grey_prob=0.2),  # class tags only, DeiT-like colour jitter
    sd=dict(vae_steps=1200, vae_batch_size=16, vae_lr=2e-3, kl_weight=1e-4, crop=(64, 128),
            unet_steps=2500, unet_batch_size=32, unet_lr=2e-3, latent_crop=(8, 16), seed=0),
    # Half of the captions name one class of the image (short_caption): with the corpus captions
    # alone the toy CLIP told styles apart but not classes (LC-MSM's class prompts: AUC 48.4 %,
    # chance 50; 55.2 with the short captions; docs/benchmarks.md).
    clip=dict(steps=2000, batch_size=64, lr=1e-3, crop=(64, 128), seed=0,
              short_caption_prob=0.5),
)
# SD 2.x shares the VAE of the v1 stack (as SD 2.x kept the SD VAE) and trains its own UNet and
# text encoder with the v1 schedule, shortened to balance the two parallel chains.
DEFAULT_SCHEDULES['sd2'] = dict(DEFAULT_SCHEDULES['sd'], unet_steps=2000)

#: Tiny open_clip architecture (ViT image tower on the 64x128 crops, CLIP text transformer with the
#: bundled BPE tokenizer). Its text tower is what LC-MSM's toy config reads.
TINY_CLIP_MODEL_CFG: Dict = dict(
    embed_dim=64,
    vision_cfg=dict(image_size=[64, 128], layers=3, width=64, head_width=32, mlp_ratio=2.0,
                    patch_size=8),
    text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=2))


def recipe_key(name: str, recipe: Dict) -> str:
    """16-hex-digit key of one model's recipe (architecture + schedule + corpus + version).

    Args:
        name (str): Model name (one of :data:`MODEL_NAMES`).
        recipe (dict): Its full recipe (JSON-serialisable).

    Returns:
        str: The key.
    """
    blob = json.dumps(dict(name=name, recipe=recipe, corpus_version=CORPUS_VERSION),
                      sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def full_recipe(name: str, archs: Dict, schedules: Dict = None) -> Dict:
    """Everything that determines model ``name``'s files.

    Args:
        name (str): Model name.
        archs (dict): Architectures per model (see ``tools/pretrain_toy_models.py``).
        schedules (dict, optional): Schedules; defaults to :data:`DEFAULT_SCHEDULES`.

    Returns:
        dict: ``dict(arch=..., schedule=..., corpus=...)`` (deep copies).
    """
    schedules = DEFAULT_SCHEDULES if schedules is None else schedules
    recipe = dict(arch=archs[name], schedule=schedules[name], corpus=schedules['corpus'])
    if name == 'sd2':  # its VAE is the v1 stack's
        recipe['vae_from'] = full_recipe('sd', archs, schedules)
    return copy.deepcopy(json.loads(json.dumps(recipe, default=list)))
