"""kill -9 + ``--resume`` against an uninterrupted run, per toy method, as a markdown table.

For each config: (1) train ``--iters`` iterations uninterrupted; (2) train the same run again and
SIGKILL it from outside as soon as its first checkpoint is listed in ``last_checkpoint`` (the
kill lands wherever the run is then: in a later iteration, data loading or a save);
(3) ``--resume`` it to ``--iters``. The table gives the largest absolute difference between the
two final checkpoints: student, teacher, other weights (iteration counter, auxiliary networks,
discriminators), optimiser state and logged losses (see
:func:`mmseg_diffuda.engine.checkpoint_differences`). CPU, ``randomness.deterministic=True``,
the configs' own dataloaders (2 workers), validation off.

Example (the table in docs/benchmarks.md; toy data from ``make toy-data``)::

    python benchmarks/resume_table.py --iters 8 --interval 4
"""
import argparse
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time
from typing import Dict, List

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from mmseg_diffuda.engine import checkpoint_differences  # noqa: E402
from mmseg_diffuda.toy.method_configs import TOY_METHOD_CONFIGS  # noqa: E402

CONFIGS = TOY_METHOD_CONFIGS
COLUMNS = ('student', 'teacher', 'other', 'optimizer', 'losses')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--methods', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument('--iters', type=int, default=8, help='iterations of every run')
    parser.add_argument('--interval', type=int, default=4, help='checkpoint interval')
    parser.add_argument('--work-dir', default='work_dirs/resume_table')
    return parser.parse_args()


def command(config: str, work_dir: str, args: argparse.Namespace, *extra: str) -> List[str]:
    options = [f'train_cfg.max_iters={args.iters}',
               f'default_hooks.checkpoint.interval={args.interval}',
               'randomness.deterministic=True', 'val_cfg=None', 'val_dataloader=None',
               'val_evaluator=None', *extra]
    return [sys.executable, osp.join(ROOT, 'tools', 'train.py'), osp.join(ROOT, config),
            '--work-dir', work_dir, '--cfg-options', *options]


def run(cmd: List[str], log: str) -> None:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    with open(log, 'w') as out:
        if subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=out).returncode:
            raise SystemExit(f'{" ".join(cmd)} failed, see {log}')


def run_and_kill(cmd: List[str], work_dir: str, log: str) -> str:
    """Start ``cmd``, SIGKILL it once ``last_checkpoint`` exists; return what it names."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    marker = osp.join(work_dir, 'last_checkpoint')
    with open(log, 'w') as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out,
                                   start_new_session=True)
        while not osp.exists(marker) and process.poll() is None:
            time.sleep(0.02)
        if process.poll() is not None:
            raise SystemExit(f'{" ".join(cmd)} ended before it could be killed, see {log}')
        os.killpg(process.pid, signal.SIGKILL)  # the run and its dataloader workers
        process.wait()
    with open(marker) as f:
        return osp.basename(f.read().strip())


def compare(method: str, config: str, args: argparse.Namespace, extra: List[str]) -> Dict:
    base = osp.join(args.work_dir, method)
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    reference, killed = osp.join(base, 'uninterrupted'), osp.join(base, 'killed')
    run(command(config, reference, args, *extra), osp.join(base, 'uninterrupted.log'))
    resumed_from = run_and_kill(command(config, killed, args, *extra), killed,
                                osp.join(base, 'killed.log'))
    run(command(config, killed, args, *extra) + ['--resume'], osp.join(base, 'resumed.log'))
    final = f'iter_{args.iters}.pth'
    differences = checkpoint_differences(
        torch.load(osp.join(reference, final), weights_only=True),
        torch.load(osp.join(killed, final), weights_only=True))
    return dict(differences, resumed_from=resumed_from)


def main() -> None:
    args = parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    rows = []
    for method in args.methods:
        extra = []
        if method == 'CrossMatch':
            source = osp.join(args.work_dir, 'crossmatch_source')
            run(command('configs/toy/source-only_mitb0-tiny_toy.py', source, args,
                        'train_cfg.max_iters=2'), source + '.log')
            extra.append(f'model.source_checkpoint={osp.abspath(source)}/iter_2.pth')
        result = compare(method, CONFIGS[method], args, extra)
        rows.append((method, result))
        print(method, result, flush=True)
    print('\nmax |difference| between the final checkpoints of the uninterrupted and the resumed '
          'run')
    print('| method | config | resumed from | ' + ' | '.join(COLUMNS) + ' |')
    print('|---|---|---|' + '---|' * len(COLUMNS))
    for method, result in rows:
        cells = ' | '.join(f'{result[c]:g}' for c in COLUMNS)
        print(f'| {method} | `{CONFIGS[method]}` | {result["resumed_from"]} | {cells} |')


if __name__ == '__main__':
    main()
