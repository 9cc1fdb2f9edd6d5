"""Cost of one DACS/MIC training iteration against one supervised iteration of the same student.

Both iterations use the student, optimiser and batch size of CONFIG (default: the full-size DAFormer
GTA5 -> Cityscapes config, random weights) on synthetic images at ``--crop``; the supervised step is
``UDASegmentor(ema=None)`` (the source-only path) with the same student. Each mode runs in its own
subprocess so that its peak resident memory (``ru_maxrss``) is its own; the ratios printed at the end
come from this one invocation. The DACS iteration is also split into its parts (EMA update,
student forwards, backward passes, teacher pseudo-labels, ClassMix + strong augmentation, optimiser
step) to show where the time goes.

Theory for DACS without FD: two student forward/backward passes (source, mixed) plus one teacher
forward, i.e. about 2.3-2.7x a supervised iteration.

Example (the figures in docs/benchmarks.md)::

    python benchmarks/step_cost.py --crop 256 --iters 5
    python benchmarks/step_cost.py configs/mic/mic_daformer_mitb5_gta2cs-512x512.py --crop 256
"""
import argparse
import json
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Dict

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = 'configs/daformer/daformer_mitb5_gta2cs-512x512.py'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--crop', type=int, default=256, help='square crop size of the batch')
    parser.add_argument('--batch-size', type=int, default=2, help='source (and target) images')
    parser.add_argument('--iters', type=int, default=5, help='timed iterations (after 1 warm-up)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--mode', choices=['supervised', 'uda'], help=argparse.SUPPRESS)
    return parser.parse_args()


def synthetic_batch(batch_size: int, crop: int, num_classes: int) -> dict:
    """A UDA batch of random images and blocky labels (as pseudo_collate returns it)."""
    from mmseg_diffuda.memory import synthetic_uda_batch
    return synthetic_uda_batch(batch_size, (crop, crop), num_classes)


@contextmanager
def timed(totals: Dict[str, float], name: str):
    start = time.perf_counter()
    yield
    totals[name] += time.perf_counter() - start


def instrument(model, totals: Dict[str, float]) -> None:
    """Wrap the DACS step methods of ``model`` so their time accumulates in ``totals``."""
    names = ['source_loss', 'pseudo_label', 'mix', 'mixed_loss', 'masked_loss', 'backward']
    for name in names:
        method = getattr(model, name, None)
        if method is None:
            continue

        def wrapper(*args, _method=method, _name=name, **kwargs):
            with timed(totals, _name):
                return _method(*args, **kwargs)

        setattr(model, name, wrapper)
    if model.teacher is not None:
        update = model.teacher.update

        def ema_update(*args, **kwargs):
            with timed(totals, 'ema_update'):
                return update(*args, **kwargs)

        model.teacher.update = ema_update


def measure(args: argparse.Namespace) -> dict:
    """Build the model of ``args.mode``, run the iterations, return time and memory figures."""
    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS

    from mmengine.registry import init_default_scope

    import mmseg_diffuda  # noqa: F401

    init_default_scope('mmseg')
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = Config.fromfile(osp.join(ROOT, args.config))
    model_cfg = cfg.model.to_dict()
    model_cfg['segmentor']['backbone']['init_cfg'] = None  # random weights: cost only
    model_cfg['segmentor']['data_preprocessor']['size'] = (args.crop, args.crop)
    if args.mode == 'supervised':
        model_cfg = dict(type='UDASegmentor', segmentor=model_cfg['segmentor'], ema=None)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.train()
    optim_wrapper = build_optim_wrapper(model.student, cfg.optim_wrapper)
    num_classes = model.student_module.decode_head.num_classes
    batch = synthetic_batch(args.batch_size, args.crop, num_classes)
    totals: Dict[str, float] = defaultdict(float)
    instrument(model, totals)
    step = optim_wrapper.step

    def timed_step(*a, **k):
        with timed(totals, 'optimizer_step'):
            return step(*a, **k)

    optim_wrapper.step = timed_step
    model.train_step(batch, optim_wrapper)  # warm-up (allocations, first-call overheads)
    totals.clear()
    times = []
    for _ in range(args.iters):
        start = time.perf_counter()
        model.train_step(batch, optim_wrapper)
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return dict(seconds=statistics.median(times), peak_rss_mb=peak / 1024,
                model_rss_mb=(peak - rss_before) / 1024,
                parts={k: v / args.iters for k, v in totals.items()})


def main() -> None:
    args = parse_args()
    if args.mode:
        print(json.dumps(measure(args)))
        return
    results = {}
    for mode in ('supervised', 'uda'):
        cmd = [sys.executable, __file__, args.config, '--crop', str(args.crop), '--batch-size',
               str(args.batch_size), '--iters', str(args.iters), '--threads', str(args.threads),
               '--mode', mode]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
    sup, uda = results['supervised'], results['uda']
    print(f'config: {args.config}  crop {args.crop}x{args.crop}, batch {args.batch_size} source'
          f' (+{args.batch_size} target), {args.threads} threads, median of {args.iters} iterations')
    print('| iteration | seconds | peak RSS (MB) | RSS growth from model build (MB) |')
    print('|---|---|---|---|')
    for name, r in (('supervised (source only)', sup), ('UDA (this config)', uda)):
        print(f'| {name} | {r["seconds"]:.2f} | {r["peak_rss_mb"]:.0f} | {r["model_rss_mb"]:.0f} |')
    print(f'\ntime ratio UDA / supervised: {uda["seconds"] / sup["seconds"]:.2f}x; '
          f'peak memory ratio: {uda["peak_rss_mb"] / sup["peak_rss_mb"]:.2f}x')
    print('\nwhere the UDA iteration goes (seconds per iteration, share of the iteration):')
    for part, seconds in sorted(uda['parts'].items(), key=lambda kv: -kv[1]):
        print(f'  {part:16s} {seconds:6.3f}  {100 * seconds / uda["seconds"]:5.1f}%')


if __name__ == '__main__':
    main()
