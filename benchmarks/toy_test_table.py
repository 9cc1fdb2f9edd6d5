"""Target mIoU of trained toy runs, re-evaluated with ``tools/test.py`` under the current configs.

``toy_uda_table.py`` reports the final validation of each training run. When a config's test
settings change after the runs (not its training), the final checkpoints are evaluated again
here, exactly as a user would: ``tools/test.py CONFIG CKPT`` with the config of the repository
(found by the run's name) and the run's last checkpoint. Work directories are the
``<config>_seed<N>`` folders that ``toy_uda_table.py`` writes.

Example (the SD-network rows of docs/benchmarks.md)::

    python benchmarks/toy_test_table.py work_dirs/n_madm/*_seed? --jobs 2
"""
import argparse
import glob
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RUN_NAME = re.compile(r'^(?P<config>.+)_seed(?P<seed>\d+)$')
MIOU = re.compile(r'mIoU: (?P<miou>[0-9.]+)')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', help='<config>_seed<N> run folders')
    parser.add_argument('--configs', default=osp.join(ROOT, 'configs'),
                        help='folder searched for <config>.py (default: the repository configs)')
    parser.add_argument('--jobs', type=int, default=2, help='evaluations at the same time')
    return parser.parse_args()


def find_config(name: str, config_root: str) -> str:
    """Return the repository config file named ``<name>.py`` (exactly one must exist)."""
    matches = glob.glob(osp.join(config_root, '**', f'{name}.py'), recursive=True)
    if len(matches) != 1:
        raise FileNotFoundError(f'toy_test_table: expected one {name}.py under {config_root}, '
                                f'found {matches or "none"}.')
    return matches[0]


def last_checkpoint(work_dir: str) -> str:
    """Return the checkpoint named in ``work_dir/last_checkpoint`` (written by mmengine)."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        raise FileNotFoundError(f'toy_test_table: {pointer} is missing; did the run finish?')
    with open(pointer) as f:
        checkpoint = f.read().strip()
    if not osp.isabs(checkpoint) and not osp.isfile(checkpoint):
        checkpoint = osp.join(work_dir, osp.basename(checkpoint))
    return checkpoint


def evaluate(work_dir: str, config_root: str) -> Tuple[str, int, Optional[float]]:
    """Run ``tools/test.py`` on the run's last checkpoint and return its mIoU."""
    match = RUN_NAME.match(osp.basename(osp.normpath(work_dir)))
    if match is None:
        raise ValueError(f'toy_test_table: {work_dir} is not a <config>_seed<N> folder.')
    name, seed = match['config'], int(match['seed'])
    command = [
        sys.executable, osp.join(ROOT, 'tools', 'test.py'),
        find_config(name, config_root), last_checkpoint(work_dir),
        '--work-dir', osp.join(work_dir, 'test_current_config'),
    ]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    found = MIOU.findall(result.stdout + result.stderr)
    miou = float(found[-1]) if result.returncode == 0 and found else None
    print(f'{name} seed {seed}: mIoU {miou} (exit {result.returncode})', flush=True)
    return name, seed, miou


def table(results: List[Tuple[str, int, Optional[float]]]) -> str:
    """Markdown table: one row per config, one column per seed, mean +- population std."""
    seeds = sorted({seed for _, seed, _ in results})
    rows: Dict[str, Dict[int, Optional[float]]] = {}
    for name, seed, miou in results:
        rows.setdefault(name, {})[seed] = miou
    lines = ['| config | ' + ' | '.join(f'seed {s}' for s in seeds) + ' | mean +- std |',
             '|---|' + '---|' * (len(seeds) + 1)]
    for name, by_seed in rows.items():
        values = [v for v in by_seed.values() if v is not None]
        summary = (f'{statistics.mean(values):.2f} +- {statistics.pstdev(values):.2f}'
                   if values else 'failed')
        cells = [f'{by_seed[s]:.2f}' if by_seed.get(s) is not None else '' for s in seeds]
        lines.append(f'| {name} | ' + ' | '.join(cells) + f' | {summary} |')
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda d: evaluate(d, args.configs), args.work_dirs))
    print(table(results))


if __name__ == '__main__':
    main()
