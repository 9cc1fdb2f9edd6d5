"""Cost of DIFF's feature extractor: the official-equivalent loop vs ours, same features.

Builds :class:`DiffusionFeatureBackbone` from ``configs/_base_/models/diff_sd21.py`` with random
weights (``pretrained=None``; the SD 2.1 architecture) and runs, per image, the plain pass
(inference and the second training pass) and the GT-conditioned pass of training, with

- official: every one of the 37 inversion steps, CFG with identical prompts (two chunks), the
  stride-64 aggregation branch computed and dropped, the VAE encoder run once per pass;
- ours: stop after the last kept step, one chunk, no stride-64 branch, one VAE encoding shared
  by both training passes.

It prints a markdown table of UNet evaluations (batch rows through the UNet), wall time and
peak memory (CPU: max RSS growth, from ``resource``), and the largest feature difference
between the two loops on the same seed. Example (reduced input, CPU)::

    OMP_NUM_THREADS=2 python benchmarks/diff_cost.py --size 128 128
"""
import argparse
import gc
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import mmseg_diffuda  # noqa: E402,F401
from mmseg_diffuda.models.backbones.diffusion_taps import (  # noqa: E402
    channels_by_stride, unet_tap_layers)
from mmseg_diffuda.models.backbones.stable_diffusion import BottleneckProjection  # noqa: E402
from mmseg_diffuda.models.utils.ddim_inversion import (  # noqa: E402
    DIFF_SAVE_INDICES_5, DIFF_SAVE_INDICES_37, DIFF_TIMESTEPS_5, DIFF_TIMESTEPS_37)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=str(REPO / 'configs/_base_/models/diff_sd21.py'))
    parser.add_argument('--size', type=int, nargs=2, default=(128, 128), metavar=('H', 'W'),
                        help='input size (multiple of 64); DIFF trains at 512 512')
    parser.add_argument('--steps', choices=('37', '5'), default=None,
                        help="inversion schedule (default: the config's): the released 37 "
                        'steps or the 5-step one')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def build(config: str, steps: str):
    """The backbone with random SD 2.1 weights."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(config).model.backbone
    cfg.pretrained = None
    if steps == '5':
        cfg.scheduler_timesteps, cfg.save_indices = DIFF_TIMESTEPS_5, DIFF_SAVE_INDICES_5
    elif steps == '37':
        cfg.scheduler_timesteps, cfg.save_indices = DIFF_TIMESTEPS_37, DIFF_SAVE_INDICES_37
    torch.manual_seed(0)
    backbone = MODELS.build(cfg)
    backbone.eval()
    return backbone


def set_official(backbone, official: bool) -> None:
    backbone.stop_after_last_save = not official
    backbone.skip_identical_cfg = not official


def max_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Counter:
    """Counts batch rows through the UNet."""

    def __init__(self, unet):
        self.rows = 0
        self.handle = unet.register_forward_pre_hook(self._hook)

    def _hook(self, module, args):
        self.rows += args[0].shape[0]


@contextmanager
def official_taps(backbone, official: bool):
    """The official loop also taps stride 64 (dropped after its aggregation)."""
    strides, layers = backbone.feature_strides, backbone.tap_layers
    if official:
        backbone.feature_strides = strides + (64, )
        backbone.tap_layers = unet_tap_layers(backbone.unet, backbone.vae_scale,
                                              strides=backbone.feature_strides)
    try:
        yield
    finally:
        backbone.feature_strides, backbone.tap_layers = strides, layers


def extract(backbone, latent, labels, official: bool, stride64: BottleneckProjection):
    """One pass; the official one aggregates its stride-64 taps and drops them."""
    feats = backbone.diffusion_features(latent, labels)
    if official:
        stride64(feats.pop(64))
    return feats


def run(backbone, images: torch.Tensor, labels: torch.Tensor, official: bool,
        stride64: BottleneckProjection, seed: int) -> Tuple[Dict[str, float], dict]:
    """One training iteration's extraction (GT pass + plain pass) of one image."""
    set_official(backbone, official)
    counter = Counter(backbone.unet)
    gc.collect()
    start = time.perf_counter()
    with torch.no_grad(), official_taps(backbone, official):
        torch.manual_seed(seed)
        latent = backbone.encode_latent(images)
        feats_cond = extract(backbone, latent, labels, official, stride64)
        if official:  # the original encodes again (a new posterior sample) for the plain pass
            backbone.encode_latent(images)
        torch.manual_seed(seed + 1)
        feats_plain = extract(backbone, latent, None, official, stride64)
    elapsed = time.perf_counter() - start
    counter.handle.remove()
    set_official(backbone, False)
    return dict(rows=counter.rows, seconds=elapsed), dict(cond=feats_cond, plain=feats_plain)


def main() -> None:
    args = parse_args()
    torch.set_grad_enabled(False)
    rss0 = max_rss_mib()
    backbone = build(args.config, args.steps)
    rss_built = max_rss_mib()
    height, width = args.size
    generator = torch.Generator().manual_seed(args.seed)
    images = torch.rand(1, 3, height, width, generator=generator) * 2 - 1
    labels = torch.zeros(1, 1, height, width, dtype=torch.long)
    labels[..., :height // 2, :] = 1  # sidewalk and wall: two class prompts
    labels[..., height // 2:, width // 2:] = 3
    per_step_64 = channels_by_stride(unet_tap_layers(backbone.unet, backbone.vae_scale,
                                                     strides=(64, )))[64]
    stride64 = BottleneckProjection(per_step_64 * len(backbone.schedule.save_indices), 2048,
                                    512, dict(type='GN', num_groups=16))
    results = {}
    for official in (True, False):
        rss_before = max_rss_mib()
        cost, feats = run(backbone, images, labels, official, stride64, args.seed)
        cost['peak_mib'] = max(max_rss_mib() - rss_before, 0.0)
        results[official] = (cost, feats)
    diff = max(float((results[True][1][k][s] - results[False][1][k][s]).abs().max())
               for k in ('cond', 'plain') for s in backbone.feature_strides)
    scale = max(float(results[True][1]['plain'][s].abs().max()) for s in backbone.feature_strides)
    print(f'DIFF extractor, {Path(args.config).name} (random weights), '
          f'{len(backbone.schedule.steps)}-step '
          f'inversion, input {height}x{width}, 1 image, CPU ({torch.get_num_threads()} '
          f'threads); model build: {rss_built - rss0:.0f} MiB RSS')
    print()
    print('| loop | UNet rows (GT pass + plain pass) | time / image (s) | extra peak RSS (MiB) |')
    print('|---|---|---|---|')
    for official, name in ((True, 'official-equivalent'), (False, 'ours')):
        cost = results[official][0]
        print(f'| {name} | {cost["rows"]} | {cost["seconds"]:.1f} | {cost["peak_mib"]:.0f} |')
    off, ours = results[True][0], results[False][0]
    print(f'| ratio | {off["rows"] / ours["rows"]:.2f}x | {off["seconds"] / ours["seconds"]:.2f}x'
          ' | |')
    print()
    print(f'max |features(official) - features(ours)| = {diff:.2e} (max |feature| = '
          f'{scale:.2e})')


if __name__ == '__main__':
    main()
