"""Pretrain the toy foundation models on the label-free toy corpus and link them into the clone.

Makes, in the formats their real counterparts ship in (see docs/toy_data.md):

* ``data/toy_models/mit-tiny/mit-tiny.pth``: a tiny MiT (ImageNet-classification analogue), an
  mmseg checkpoint for ``init_cfg=dict(type='Pretrained', checkpoint=...)``;
* ``data/toy_models/sd-tiny-v1/``: a tiny Stable Diffusion v1 stack (VAE, UNet, CLIP text encoder,
  tokenizer, scheduler) for ``pretrained=`` of the MADM / ICCLD backbones;
* ``data/toy_models/sd-tiny-v2/``: the SD 2.x-layout UNet + text encoder on the same VAE (DIFF);
* ``data/toy_models/clip-tiny/``: a tiny OpenCLIP model (``open_clip_config.json`` +
  ``open_clip_pytorch_model.bin``) for LC-MSM.

The architectures are read from the toy model configs, so the weights fit the configs that load
them. Models are cached outside the clone (``~/.cache/mmseg-diffuda/toy_models``, keyed by a hash of
recipe + corpus version) and only trained once per machine; ``data/toy_models/*`` are links.

Example::

    python tools/pretrain_toy_models.py                 # all four (about 15 min on 2 cores)
    python tools/pretrain_toy_models.py --models sd     # only the SD v1 stack (make demo)
"""
import argparse
import ast
import copy
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

from mmengine.config import Config

from mmseg_diffuda.toy.pretrain.build import build_toy_models
from mmseg_diffuda.toy.pretrain.recipe import (DEFAULT_CACHE, DEFAULT_SCHEDULES, MODEL_NAMES,
                                               TINY_CLIP_MODEL_CFG)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: Config files that define the architectures of the toy models.
ARCH_CONFIGS = {
    'mit': 'configs/_base_/models/daformer_mitb0-tiny.py',
    'sd': 'configs/_base_/models/madm_tiny.py',
    'sd2': 'configs/_base_/models/diff_tiny.py',
}


def toy_architectures(root: str = ROOT) -> Dict:
    """Architectures of the toy models, read from the toy model configs under ``root``.

    Args:
        root (str): Repository root.

    Returns:
        dict: ``mit`` (MiT backbone config), ``sd`` / ``sd2`` (``unet``, ``vae``,
        ``text_encoder``, ``scheduler`` configs), ``clip`` (open_clip model config).
    """
    archs: Dict = {}
    mit = Config.fromfile(osp.join(root, ARCH_CONFIGS['mit'])).model.backbone.to_dict()
    mit.pop('init_cfg', None)
    mit.pop('pretrained', None)
    archs['mit'] = mit
    for name in ('sd', 'sd2'):
        backbone = Config.fromfile(osp.join(root, ARCH_CONFIGS[name])).model.backbone
        archs[name] = dict(unet=backbone.unet_config.to_dict(), vae=backbone.vae_config.to_dict(),
                           text_encoder=backbone.text_encoder_config.to_dict(),
                           scheduler=backbone.scheduler_config.to_dict())
    archs['clip'] = TINY_CLIP_MODEL_CFG
    return archs


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Pretrain the toy foundation models.')
    parser.add_argument('--models', nargs='+', default=list(MODEL_NAMES), choices=MODEL_NAMES,
                        help='which models (default: all)')
    parser.add_argument('--out', default='data/toy_models',
                        help='where the links go (default: data/toy_models)')
    parser.add_argument('--cache-dir', default=DEFAULT_CACHE,
                        help=f'model cache outside the clone (default: {DEFAULT_CACHE})')
    parser.add_argument('--force', action='store_true', help='re-train cached models')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument('--workers', type=int, default=2,
                        help='parallel training processes of one CPU thread each (default: 2)')
    parser.add_argument('--schedule', nargs='+', default=[], metavar='MODEL.KEY=VALUE',
                        help='override the recipe for a probe, e.g. sd.vae_steps=3600 (a '
                        'changed recipe is cached under its own key; use --out elsewhere so the '
                        'toy configs keep loading the recipe\'s models)')
    return parser.parse_args(argv)


def schedules_with(overrides: List[str]) -> Dict:
    """The recipe's schedules with ``MODEL.KEY=VALUE`` overrides (VALUE parsed as a literal).

    Args:
        overrides (list[str]): e.g. ``['sd.vae_steps=3600']``.

    Returns:
        dict: A copy of :data:`DEFAULT_SCHEDULES` with the overrides applied.

    Raises:
        KeyError: For an unknown model or key (the recipe's keys are listed), and for the
            ``sd2.vae_*`` entries, which the SD 2.x stack does not use (it reuses the v1 VAE).
    """
    schedules = copy.deepcopy(DEFAULT_SCHEDULES)
    for item in overrides:
        path, sep, value = item.partition('=')
        model, dot, key = path.partition('.')
        if not sep or not dot:
            raise ValueError(f'--schedule takes MODEL.KEY=VALUE, got {item!r}.')
        if model not in schedules or key not in schedules[model]:
            known = {name: sorted(s) for name, s in schedules.items()}
            raise KeyError(f'--schedule {item!r}: no such recipe entry; the recipe has {known}.')
        if model == 'sd2' and key.startswith('vae_'):
            raise KeyError(f'--schedule {item!r}: the SD 2.x stack reuses the SD v1 VAE, so its '
                           f'vae_* entries train nothing; set sd.{key} instead.')
        try:
            schedules[model][key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            schedules[model][key] = value
    return schedules


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    start = time.time()
    build_toy_models(args.out, toy_architectures(), args.models,
                     schedules=schedules_with(args.schedule), cache_dir=args.cache_dir,
                     progress=not args.no_progress, force=args.force, workers=args.workers)
    print(f'[toy models] ready in {args.out} ({time.time() - start:.0f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
