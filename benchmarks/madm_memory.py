"""Peak memory and time of one MADM training iteration, with each memory lever on and off.

The model is CONFIG's full Stable Diffusion v1-4 MADM network (default: the Cityscapes RGB ->
DELIVER depth benchmark config) built with **random weights** (``pretrained=None``: the
``*_config`` dicts of ``configs/_base_/models/madm_sd14.py`` state the SD v1-4 architecture), on a
synthetic batch of ``--batch-size`` source + target images at a reduced square ``--crop`` (the
backbone's 512x512 input resize is turned off, so the crop is what the UNet sees). One
"iteration" is exactly ``MADM.train_step``: EMA update, source CE + LPLR, DPLG teacher pass,
ClassMix, mixed CE + LPLR, AdamW step with MADM's optimiser settings.

Each setting runs in its own subprocess, so its peak resident memory (``ru_maxrss``) is its own;
the ratios against the official setting come from this one invocation. The settings:

- ``official``: every lever off, float32 (what MADM's code computes).
- ``grad_ckpt``: diffusers' gradient checkpointing of the UNet (``gradient_checkpointing=True``).
- ``frozen_half``: the frozen VAE and text encoder stored in half precision
  (``frozen_dtype='bfloat16'`` here: CPU kernels; ``'float16'`` on a GPU).
- ``autocast``: mixed precision of the whole step. On a GPU this is ``AmpOptimWrapper`` (fp16 with a
  dynamic loss scale, as the configs); mmengine refuses AmpOptimWrapper without a GPU, so this
  script wraps the same ``optim_context`` around mmengine's CPU ``autocast`` (bfloat16).
- ``no_s0``: no VAE-decoded full-resolution feature ``s0`` (``use_decoded_feature=False``; the
  head then fuses three levels: a model change, not only a memory setting).
- ``all``: every lever on.

The fixed part (parameters, gradients and AdamW state of the ~860M trainable UNet parameters) is
printed apart, because no lever touches it and it dominates at a reduced crop.

Example (the figures in docs/benchmarks.md; needs ~16 GB free memory, run it alone)::

    python benchmarks/madm_memory.py --crop 256 --iters 2
    python benchmarks/madm_memory.py configs/madm/madm_tiny_toy-rgb2depth.py --crop 64  # quick
"""
import argparse
import json
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time
from typing import Dict, List

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from step_cost import synthetic_batch  # noqa: E402  (one synthetic UDA batch for all benchmarks)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = 'configs/madm/madm_sd14_cityscapes2deliver-depth-512x512.py'

#: Lever name -> (backbone overrides, autocast). ``all`` is the union of the others.
LEVERS: Dict[str, dict] = {
    'official': dict(),
    'grad_ckpt': dict(backbone=dict(gradient_checkpointing=True)),
    'frozen_half': dict(backbone=dict(frozen_dtype='bfloat16')),
    'autocast': dict(autocast=True),
    'no_s0': dict(backbone=dict(use_decoded_feature=False)),
}
LEVERS['all'] = dict(
    backbone={k: v for lever in LEVERS.values() for k, v in lever.get('backbone', {}).items()},
    autocast=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--crop', type=int, default=256, help='square crop size (multiple of 64)')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='source (and target) images: 1 + 1 is MADM\'s per-GPU batch')
    parser.add_argument('--iters', type=int, default=2, help='timed iterations (after 1 warm-up)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--settings', nargs='+', default=list(LEVERS), choices=list(LEVERS))
    parser.add_argument('--setting', choices=list(LEVERS), help=argparse.SUPPRESS)
    return parser.parse_args()


def apply_lever(model_cfg: dict, setting: str, crop: int) -> dict:
    """Return the model config with random SD weights, the reduced crop and ``setting``'s levers."""
    student = model_cfg['segmentor']
    backbone = student['backbone']
    backbone['pretrained'] = None  # random weights: the architecture from the *_config dicts
    backbone['input_size'] = None  # keep the reduced crop (the config resizes to 512x512)
    student['data_preprocessor']['size'] = (crop, crop)
    overrides = LEVERS[setting].get('backbone', {})
    backbone.update(overrides)
    if not backbone['use_decoded_feature']:  # the head loses the s0 level
        head = student['decode_head']
        head['in_channels'] = head['in_channels'][1:]
        head['in_index'] = list(range(len(head['in_channels'])))
        backbone['projection_dims'] = backbone['projection_dims'][1:]
    return model_cfg


def cpu_autocast_wrapper(optim_wrapper):
    """Make ``optim_wrapper.optim_context`` also enter mmengine's CPU bfloat16 autocast."""
    from contextlib import contextmanager

    import torch
    from mmengine.runner.amp import autocast
    context = optim_wrapper.optim_context

    @contextmanager
    def optim_context(model):
        with context(model), autocast(device_type='cpu', dtype=torch.bfloat16):
            yield

    optim_wrapper.optim_context = optim_context
    return optim_wrapper


def fixed_state_gb(model) -> Dict[str, float]:
    """Bytes of parameters, gradients and AdamW moments that every setting holds."""
    trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() * p.element_size() for p in model.parameters() if not p.requires_grad)
    return dict(
        trainable_params_m=sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6,
        # weights + gradients + exp_avg + exp_avg_sq of every trainable parameter
        trainable_state_gb=4 * trainable / 2**30,
        frozen_weights_gb=frozen / 2**30)


def measure(args: argparse.Namespace) -> dict:
    """Build the model with ``args.setting``'s levers, run the iterations, return the figures."""
    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_diffuda  # noqa: F401

    init_default_scope('mmseg')
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = Config.fromfile(osp.join(ROOT, args.config))
    model_cfg = apply_lever(cfg.model.to_dict(), args.setting, args.crop)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.train()
    rss_built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    optim_cfg = cfg.optim_wrapper.to_dict()
    optim_cfg['type'] = 'OptimWrapper'  # AmpOptimWrapper needs a GPU; see cpu_autocast_wrapper
    optim_cfg.pop('loss_scale', None)
    optim_wrapper = build_optim_wrapper(model.student, optim_cfg)
    if LEVERS[args.setting].get('autocast'):
        optim_wrapper = cpu_autocast_wrapper(optim_wrapper)
    num_classes = model.student_module.decode_head.num_classes
    batch = synthetic_batch(args.batch_size, args.crop, num_classes)
    model.train_step(batch, optim_wrapper)  # warm-up: allocates the AdamW state
    times: List[float] = []
    for _ in range(args.iters):
        start = time.perf_counter()
        model.train_step(batch, optim_wrapper)
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return dict(seconds=statistics.median(times), peak_rss_gb=peak / 2**20,
                built_rss_gb=(rss_built - rss_before) / 2**20,
                step_growth_gb=(peak - rss_built) / 2**20, **fixed_state_gb(model))


def main() -> None:
    args = parse_args()
    if args.setting:
        print(json.dumps(measure(args)))
        return
    results = {}
    for setting in args.settings:
        cmd = [sys.executable, __file__, args.config, '--crop', str(args.crop), '--batch-size',
               str(args.batch_size), '--iters', str(args.iters), '--threads', str(args.threads),
               '--setting', setting]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            print(f'{setting}: failed (exit {proc.returncode}); last lines:\n'
                  + '\n'.join(proc.stderr.strip().splitlines()[-5:]), file=sys.stderr)
            continue
        results[setting] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f'{setting}: {results[setting]}', file=sys.stderr, flush=True)
    if not results:
        sys.exit('every setting failed')
    first = next(iter(results.values()))
    print(f'config: {args.config} (random weights), crop {args.crop}x{args.crop}, batch '
          f'{args.batch_size} source + {args.batch_size} target, {args.threads} threads, median of '
          f'{args.iters} iterations after 1 warm-up')
    print(f'fixed part in every setting: {first["trainable_params_m"]:.0f}M trainable parameters '
          f'-> weights + grads + AdamW moments = {first["trainable_state_gb"]:.1f} GB '
          f'(fp32); frozen weights {first["frozen_weights_gb"]:.2f} GB in the official setting')
    print('| setting | s / iteration | peak RSS (GB) | growth during the steps (GB) '
          '| time vs official | peak vs official |')
    print('|---|---|---|---|---|---|')
    base = results.get('official')
    for setting, r in results.items():
        time_ratio = f'{r["seconds"] / base["seconds"]:.2f}x' if base else 'n/a'
        peak_ratio = f'{r["peak_rss_gb"] / base["peak_rss_gb"]:.2f}x' if base else 'n/a'
        print(f'| {setting} | {r["seconds"]:.1f} | {r["peak_rss_gb"]:.2f} | '
              f'{r["step_growth_gb"]:.2f} | {time_ratio} | {peak_ratio} |')


if __name__ == '__main__':
    main()
