"""Validate the memory plan on CPU: planned vs measured growth of one real training iteration.

For each config, the plan (fake tensors, ``mmseg_diffuda.memory.plan_train_step``) and a real
CPU run (``mmseg_diffuda.memory.validate.measure_step_growth``, in its own process with glibc's
fixed mmap threshold) of the same iteration at a small crop; prints both and their ratio.

Example (the figures in docs/benchmarks.md)::

    python benchmarks/memory_plan_validation.py --crop 256 256
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

DEFAULT_CONFIGS = ['configs/madm/madm_tiny_toy-rgb2depth.py',
                   'configs/toy/daformer_mitb0-tiny_toy.py']


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*', default=DEFAULT_CONFIGS)
    parser.add_argument('--crop', type=int, nargs=2, default=[256, 256], metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--lever', nargs='*', default=[])
    parser.add_argument('--measure', action='store_true', help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmseg_diffuda.memory import plan_train_step
    from mmseg_diffuda.memory.plan import GIB, load_plan_config
    from mmseg_diffuda.memory.validate import MALLOC_ENV, measure_step_growth
    if args.measure:
        cfg = load_plan_config(args.configs[0])
        print(json.dumps(measure_step_growth(cfg, args.lever, args.batch_size, args.crop)))
        return
    print('| config | crop | batch | planned step growth (MiB) | measured RSS growth (MiB) '
          '| measured / planned |')
    print('|---|---|---|---|---|---|')
    for config in args.configs:
        cfg = load_plan_config(config)
        plan = plan_train_step(cfg, args.lever, batch_size=args.batch_size, crop=args.crop,
                               config_name=config)
        cmd = [sys.executable, __file__, config, '--measure', '--batch-size',
               str(args.batch_size), '--crop', *map(str, args.crop)]
        if args.lever:
            cmd += ['--lever', *args.lever]
        env = dict(os.environ, OMP_NUM_THREADS='1', **MALLOC_ENV)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
        if proc.returncode != 0:
            sys.exit(f'{config}: measurement failed:\n{proc.stderr[-2000:]}')
        measured = json.loads(proc.stdout.strip().splitlines()[-1])['step_growth_bytes']
        mib = GIB / 1024
        print(f'| {config} | {args.crop[0]}x{args.crop[1]} | {args.batch_size} + '
              f'{args.batch_size} | {plan.step_growth_bytes / mib:.0f} | {measured / mib:.0f} '
              f'| {measured / plan.step_growth_bytes:.3f} |', flush=True)


if __name__ == '__main__':
    main()
