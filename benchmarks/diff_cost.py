"""Cost of DIFF's feature extractor: the official-equivalent loop vs ours, same features.

Builds :class:`DiffusionFeatureBackbone` from ``configs/_base_/models/diff_sd21.py`` with random
weights (``pretrained=None``; the SD 2.1 architecture) and runs, per image, the plain pass
(inference and the second training pass) and the GT-conditioned pass of training, with

- official: every one of the 37 inversion steps, CFG with identical prompts (two chunks), the
  stride-64 aggregation branch computed and dropped, the VAE encoder run once per pass;
- ours: stop after the last kept step, one chunk, no stride-64 branch, one VAE encoding shared
  by both training passes.

It prints a markdown table of UNet evaluations (batch rows through the UNet), wall time and
peak memory per pass, and the largest feature difference between the two loops on the same seed.
Peak memory on CPU is the growth of the peak resident set over the resident set before the loop:
the kernel's high-water mark (``VmHWM``) is reset before each loop through
``/proc/self/clear_refs``, so the 6 GiB of the model build do not mask it (where that file is not
writable the figure falls back to the growth of ``ru_maxrss`` and is marked as a lower bound).
Example (reduced input, CPU)::

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


#: Smallest peak-RSS growth (MiB) whose ratio is printed.
MIN_MEMORY_MIB = 16


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


def _status_mib(field: str) -> float:
    """A ``VmRSS``/``VmHWM`` line of ``/proc/self/status`` in MiB."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


class PeakMemory:
    """Peak resident-set growth over a block: ``with PeakMemory() as peak: ...; peak.mib``.

    Resets the kernel's high-water mark first (``echo 5 > /proc/self/clear_refs``, Linux >= 4.0);
    without that, the figure is the growth of ``ru_maxrss`` (``exact`` False), a lower bound.
    """

    def __enter__(self) -> 'PeakMemory':
        gc.collect()
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            self.exact = True
            self.start = _status_mib('VmRSS')
        except OSError:
            self.exact = False
            self.start = max_rss_mib()
        return self

    def __exit__(self, *exc) -> None:
        peak = _status_mib('VmHWM') if self.exact else max_rss_mib()
        self.mib = max(peak - self.start, 0.0)


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
        stride64: BottleneckProjection, seed: int) -> Tuple[Dict[str, Dict[str, float]], dict]:
    """One training iteration's extraction (GT pass, then plain pass) of one image.

    Returns:
        tuple: ``({'cond': cost, 'plain': cost}, {'cond': feats, 'plain': feats})``, a cost
        being ``dict(rows, seconds, peak_mib)``; the plain pass alone is what inference runs.
    """
    set_official(backbone, official)
    costs, feats = {}, {}
    with torch.no_grad(), official_taps(backbone, official):
        start = time.perf_counter()
        torch.manual_seed(seed)
        latent = backbone.encode_latent(images)  # the iteration's encoding (GT pass's time)
        encode_seconds = time.perf_counter() - start
        for name, pass_labels, pass_seed in (('cond', labels, seed), ('plain', None, seed + 1)):
            counter = Counter(backbone.unet)
            with PeakMemory() as peak:
                start = time.perf_counter()
                if official and name == 'plain':
                    # the original encodes again (a new posterior sample) for the plain pass
                    backbone.encode_latent(images)
                torch.manual_seed(pass_seed)
                feats[name] = extract(backbone, latent, pass_labels, official, stride64)
                seconds = time.perf_counter() - start + (encode_seconds if name == 'cond' else 0)
            counter.handle.remove()
            costs[name] = dict(rows=counter.rows, seconds=seconds, peak_mib=peak.mib,
                               exact=peak.exact)
    set_official(backbone, False)
    return costs, feats


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
    results = {official: run(backbone, images, labels, official, stride64, args.seed)
               for official in (True, False)}
    diff = max(float((results[True][1][k][s] - results[False][1][k][s]).abs().max())
               for k in ('cond', 'plain') for s in backbone.feature_strides)
    scale = max(float(results[True][1]['plain'][s].abs().max()) for s in backbone.feature_strides)
    exact = all(cost['exact'] for costs, _ in results.values() for cost in costs.values())
    print(f'DIFF extractor, {Path(args.config).name} (random weights), '
          f'{len(backbone.schedule.steps)}-step '
          f'inversion, input {height}x{width}, 1 image, CPU ({torch.get_num_threads()} '
          f'threads); model build: {rss_built - rss0:.0f} MiB RSS')
    print()
    memory = 'peak RSS growth (MiB)' if exact else 'peak RSS growth, lower bound (MiB)'
    print(f'| loop | pass | UNet rows | time (s) | {memory} |')
    print('|---|---|---|---|---|')
    totals = {}
    for official, name in ((True, 'official-equivalent'), (False, 'ours')):
        costs = results[official][0]
        for pass_name, label in (('cond', 'GT-conditioned (training)'),
                                 ('plain', 'plain (training and inference)')):
            cost = costs[pass_name]
            print(f'| {name} | {label} | {cost["rows"]} | {cost["seconds"]:.1f} | '
                  f'{cost["peak_mib"]:.0f} |')
        totals[official] = dict(
            rows=sum(c['rows'] for c in costs.values()),
            seconds=sum(c['seconds'] for c in costs.values()),
            peak_mib=max(c['peak_mib'] for c in costs.values()))
        print(f'| {name} | training iteration (both) | {totals[official]["rows"]} | '
              f'{totals[official]["seconds"]:.1f} | {totals[official]["peak_mib"]:.0f} |')
    print()
    def memory_ratio(official: float, ours: float) -> str:
        # RSS growth below a few MiB is allocator noise (freed blocks are reused).
        if min(official, ours) < MIN_MEMORY_MIB:
            return f'n/a (< {MIN_MEMORY_MIB} MiB)'
        return f'{official / ours:.2f}x'

    print('| ratio official / ours | UNet rows | time | peak memory |')
    print('|---|---|---|---|')
    off, ours = results[True][0]['plain'], results[False][0]['plain']
    print(f'| inference (plain pass) | {off["rows"] / ours["rows"]:.2f}x | '
          f'{off["seconds"] / ours["seconds"]:.2f}x | '
          f'{memory_ratio(off["peak_mib"], ours["peak_mib"])} |')
    off, ours = totals[True], totals[False]
    print(f'| training iteration | {off["rows"] / ours["rows"]:.2f}x | '
          f'{off["seconds"] / ours["seconds"]:.2f}x | '
          f'{memory_ratio(off["peak_mib"], ours["peak_mib"])} |')
    print()
    print(f'max |features(official) - features(ours)| = {diff:.2e} (max |feature| = '
          f'{scale:.2e})')


if __name__ == '__main__':
    main()
