"""Run a few real training iterations of each full-size config and compare with the memory plan.

For every config: random weights in the released formats (frozen Stable Diffusion parts in
float16 where the backbone has them, ``frozen_half``), mixed precision on (``AmpOptimWrapper``;
the ``amp`` lever for configs that do not train with it already), synthetic batches at the
config's crop and per-GPU batch. Prints seconds per iteration (median after one warm-up),
``torch.cuda.max_memory_allocated`` next to the plan's peak for the same settings, and whether
every loss stayed finite. ``benchmarks/gpu_check.sh`` runs it on a GPU machine; ``--dry`` runs
the same code path on CPU with tiny configs and crops (the test suite does, so it cannot rot).
"""
import argparse
import json
import math
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import List, Optional, Sequence, Tuple

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from mmseg_diffuda.memory import synthetic_uda_batch  # noqa: E402
from mmseg_diffuda.memory.levers import (FROZEN_UNET_BACKBONES,  # noqa: E402
                                         TRAINED_UNET_BACKBONES)
from mmseg_diffuda.memory.plan import (GIB, build_training, load_plan_config,  # noqa: E402
                                       prepare_config, train_batch_size, train_crop)

FULL_SIZE = [
    'configs/daformer/daformer_mitb5_gta2cs-512x512.py',
    'configs/mic/mic_daformer_mitb5_gta2cs-512x512.py',
    'configs/lc_msm/lcmsm_daformer_mitb5_gta2cs-512x512.py',
    'configs/diff/diff_sd21_daformer_gta2cs-dg-512x512.py',
    'configs/iccld/iccld_sd15_gta2cs-512x512.py',
    'configs/madm/madm_sd14_cityscapes2deliver-depth-512x512.py',
    'configs/madm/madm_sd14_cityscapes2deliver-depth-512x512_24gb.py',
]
DRY = ['configs/toy/daformer_mitb0-tiny_toy.py', 'configs/madm/madm_tiny_toy-rgb2depth.py']


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*')
    parser.add_argument('--iters', type=int, default=3, help='timed iterations after 1 warm-up')
    parser.add_argument('--dry', action='store_true',
                        help='CPU, tiny configs (unless given), --crop, 1 timed iteration')
    parser.add_argument('--crop', type=int, nargs=2, metavar=('H', 'W'),
                        help='default: the config\'s (64 64 with --dry)')
    return parser.parse_args()


def real_format_levers(cfg) -> Tuple[str, ...]:
    """Levers that give the released weight formats and AMP for ``cfg``."""
    student = cfg.model.get('segmentor', cfg.model)
    levers: List[str] = []
    if student.backbone.type in TRAINED_UNET_BACKBONES + FROZEN_UNET_BACKBONES:
        if student.backbone.get('frozen_dtype') is None:
            levers.append('frozen_half')
    wrappers = ([cfg.optim_wrapper] if 'optimizer' in cfg.optim_wrapper else
                [w for w in cfg.optim_wrapper.values() if isinstance(w, dict)])
    if wrappers[0].get('type') != 'AmpOptimWrapper' or \
            student.backbone.type in FROZEN_UNET_BACKBONES:
        levers.append('amp')
    return tuple(levers)


def to_gpu_amp(optim_cfg: dict) -> dict:
    """Turn the plan's (CPU) optimiser wrappers into ``AmpOptimWrapper``s."""
    wrappers = ([optim_cfg] if 'optimizer' in optim_cfg else
                [w for w in optim_cfg.values() if isinstance(w, dict)])
    for wrapper in wrappers[:1]:  # the student's; a discriminator's stays fp32 (ICCLD)
        wrapper['type'] = 'AmpOptimWrapper'
        wrapper['loss_scale'] = 'dynamic'
    return optim_cfg


def start_plan(config: str, levers: Sequence[str], crop: Sequence[int]) -> subprocess.Popen:
    """Start ``memory_plan.py`` for the same settings in its own process.

    Plans run on CPU while the GPU trains, all started at once, so they do not count against the
    GPU check's time. (They also must not share a process with real training: after fake-tensor
    planning, the first real backward of the tiny MADM config crashed the autograd engine.)
    """
    cmd = [sys.executable, osp.join(ROOT, 'benchmarks/memory_plan.py'), config, '--json',
           '--crop', *map(str, crop)]
    if levers:
        cmd += ['--lever', *levers]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)


def planned_peak(proc: subprocess.Popen) -> int:
    """Wait for a plan started by :func:`start_plan`; return its peak in bytes."""
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f'memory plan failed: {err[-1000:]}')
    return json.loads(out.strip().splitlines()[-1])['peak_bytes']


def settings(config: str, crop: Optional[Sequence[int]],
             device: str) -> Tuple[object, Tuple[str, ...], Tuple[int, int]]:
    """The config, the levers of its real formats and its crop."""
    cfg = load_plan_config(osp.join(ROOT, config))
    levers = real_format_levers(cfg)
    if device == 'cpu':
        # The dry run checks the code path, not the formats: no fp16 weights and no bf16
        # autocast on CPU (the tiny MADM config's CPU bf16 backward crashed at a 64x64 crop and
        # gave non-finite losses at 128x128 on this stack).
        levers = ()
    return cfg, levers, tuple(crop) if crop else train_crop(cfg)


def check(config: str, iters: int, crop: Optional[Sequence[int]], device: str,
          plan: subprocess.Popen) -> str:
    """Train ``iters`` + 1 iterations of ``config``; return its table row."""
    cfg, levers, crop = settings(config, crop, device)
    model_cfg, optim_cfg, amp = prepare_config(cfg, levers, crop, cpu=device == 'cpu')
    torch.manual_seed(0)
    if device == 'cuda':
        from mmengine.optim import build_optim_wrapper
        from mmengine.registry import init_default_scope
        from mmseg.registry import MODELS
        init_default_scope('mmseg')
        model = MODELS.build(model_cfg).cuda()
        model.train()
        optim_wrapper = build_optim_wrapper(model, to_gpu_amp(optim_cfg) if amp else optim_cfg)
        torch.cuda.reset_peak_memory_stats()
    else:
        model, optim_wrapper = build_training(model_cfg, optim_cfg, amp)
    student = getattr(model, 'student_module', model)
    batch = synthetic_uda_batch(train_batch_size(cfg), crop, int(student.decode_head.num_classes))
    finite, times = True, []
    for index in range(iters + 1):
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        log_vars = model.train_step(batch, optim_wrapper)
        if device == 'cuda':
            torch.cuda.synchronize()
        if index:
            times.append(time.perf_counter() - start)
        finite &= all(math.isfinite(float(value)) for key, value in log_vars.items()
                      if 'loss' in key)
    measured = (f'{torch.cuda.max_memory_allocated() / GIB:.2f}' if device == 'cuda' else
                'n/a (CPU)')
    del model, optim_wrapper
    return (f'| {config} | {", ".join(levers) or "-"} | {"x".join(map(str, crop))} | '
            f'{statistics.median(times):.2f} | {measured} | {planned_peak(plan) / GIB:.2f} | '
            f'{"yes" if finite else "NO"} |')


def main() -> None:
    args = parse_args()
    device = 'cuda' if torch.cuda.is_available() and not args.dry else 'cpu'
    configs = args.configs or (DRY if args.dry else FULL_SIZE)
    crop = args.crop or ((64, 64) if args.dry else None)
    iters = 1 if args.dry else args.iters
    if device == 'cpu' and not args.dry:
        sys.exit('no GPU: run with --dry (CPU, tiny configs) or on a GPU machine')
    print(f'device: {torch.cuda.get_device_name() if device == "cuda" else "cpu (dry run)"}')
    print('| config | levers | crop | s / iteration | max_memory_allocated (GiB) '
          '| plan peak (GiB) | losses finite |')
    print('|---|---|---|---|---|---|---|', flush=True)
    plans = {}
    for config in configs:
        _, levers, config_crop = settings(config, crop, device)
        plans[config] = start_plan(config, levers, config_crop)
    failed = False
    for config in configs:
        try:
            print(check(config, iters, crop, device, plans[config]), flush=True)
        except Exception as error:  # report and go on with the next config
            failed = True
            print(f'| {config} | failed: {error!r} |', flush=True)
        if device == 'cuda':
            torch.cuda.empty_cache()
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
