"""Target mIoU of several toy configs over several seeds, as a markdown table.

Each (config, seed) pair is trained through ``tools/train.py`` (so exactly the user path) with
``randomness.seed`` set on the command line; the figure is the mIoU of the final validation, which
evaluates the last checkpoint on the toy target val split (the same number ``tools/test.py`` prints
for that checkpoint). Runs go ``--jobs`` at a time, each on one thread.

Example (the table in docs/benchmarks.md)::

    python benchmarks/toy_uda_table.py configs/toy/source-only_mitb0-tiny_toy.py \
        configs/toy/daformer_mitb0-tiny_toy.py configs/toy/mic_mitb0-tiny_toy.py \
        configs/toy/oracle_mitb0-tiny_toy.py --seeds 0 1 2 --jobs 2
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='config files to compare')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--jobs', type=int, default=2, help='runs at the same time')
    parser.add_argument('--work-dir', default='work_dirs/toy_uda_table')
    parser.add_argument('--cfg-options', nargs='*', default=[],
                        help='extra --cfg-options for every run, e.g. train_cfg.max_iters=200')
    return parser.parse_args()


def final_miou(work_dir: str) -> Optional[float]:
    """Return the mIoU of the last validation logged in ``work_dir`` (None if there is none)."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not logs:
        return None
    last = None
    with open(logs[-1]) as f:
        for line in f:
            record = json.loads(line)
            if 'mIoU' in record:
                last = record['mIoU']
    return last


def run(config: str, seed: int, args: argparse.Namespace) -> Tuple[str, int, Optional[float], float]:
    """Train one (config, seed) pair and return its final target mIoU and wall time."""
    name = osp.splitext(osp.basename(config))[0]
    work_dir = osp.join(args.work_dir, f'{name}_seed{seed}')
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir,
           '--cfg-options', f'randomness.seed={seed}', *args.cfg_options]
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    start = time.time()
    with open(osp.join(args.work_dir, f'{name}_seed{seed}.log'), 'w') as log:
        code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    seconds = time.time() - start
    miou = final_miou(work_dir) if code == 0 else None
    print(f'{name} seed {seed}: mIoU {miou} ({seconds:.0f} s, exit {code})', flush=True)
    return name, seed, miou, seconds


def main() -> None:
    args = parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    jobs = [(c, s) for c in args.configs for s in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: run(*job, args), jobs))
    print('\n| config | ' + ' | '.join(f'seed {s}' for s in args.seeds) +
          ' | mean +- std | minutes per run |')
    print('|---|' + '---|' * (len(args.seeds) + 2))
    for config in args.configs:
        name = osp.splitext(osp.basename(config))[0]
        rows = [r for r in results if r[0] == name]
        mious: List[float] = [r[2] for r in rows if r[2] is not None]
        cells = [f'{r[2]:.2f}' if r[2] is not None else 'failed' for r in rows]
        summary = (f'{statistics.mean(mious):.2f} +- {statistics.pstdev(mious):.2f}'
                   if mious else 'n/a')
        minutes = statistics.mean(r[3] for r in rows) / 60
        print(f'| {name} | ' + ' | '.join(cells) + f' | {summary} | {minutes:.1f} |')


if __name__ == '__main__':
    main()
