"""The README's main job (``make demo``): toy SD stack, source-only vs MADM on toy RGB -> depth.

Stages, one progress bar each (full logs go to ``work_dirs/demo/``):

1. the toy Stable Diffusion v1 stack (``tools/pretrain_toy_models.py --models sd``; cached after the
   first run);
2. training the source-only baseline and MADM through ``tools/train.py``, both from the pretrained
   toy SD stack, in parallel (one CPU thread each);
3. evaluating each last checkpoint through ``tools/test.py`` on the toy DELIVER depth test set;

then the target mIoU table and ``work_dirs/demo/predictions.png`` (target images, ground truth and
both predictions in the dataset palette).
"""
import argparse
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional

from tqdm import tqdm

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = ['configs/toy/source-only_madm-tiny_toy-rgb2depth.py',
           'configs/madm/madm_tiny_toy-rgb2depth.py']
ITER = re.compile(r'Iter\(train\) \[\s*(\d+)/(\d+)\]')
MIOU = re.compile(r'mIoU: ([0-9.]+)')


def run_logged(cmd: List[str], log_file: str, threads: int = 1) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    with open(log_file, 'w') as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def last_iteration(log_file: str) -> int:
    try:
        with open(log_file, errors='replace') as f:
            found = ITER.findall(f.read())
    except FileNotFoundError:
        return 0
    return int(found[-1][0]) if found else 0


def check(proc: subprocess.Popen, log_file: str, what: str) -> None:
    if proc.returncode != 0:
        with open(log_file, errors='replace') as f:
            tail = f.read()[-3000:]
        sys.exit(f'[demo] {what} failed (exit {proc.returncode}); last lines of {log_file}:\n'
                 f'{tail}')


def train_all(configs: List[str], work: str, max_iters: int) -> Dict[str, str]:
    """Train the configs in parallel, one progress bar each; return name -> checkpoint."""
    procs, bars = {}, {}
    for position, cfg in enumerate(configs):
        name = osp.splitext(osp.basename(cfg))[0]
        wd = osp.join(work, name)
        os.makedirs(wd, exist_ok=True)
        log = osp.join(wd, 'train.log')
        procs[name] = (run_logged([sys.executable, 'tools/train.py', cfg, '--work-dir', wd], log),
                       log, wd)
        bars[name] = tqdm(total=max_iters, desc=f'train {name}'[:48], position=position,
                          unit='it', leave=True)
    while any(p.poll() is None for p, _, _ in procs.values()):
        for name, (_, log, _) in procs.items():
            bars[name].update(last_iteration(log) - bars[name].n)
        time.sleep(2)
    for name, (proc, log, wd) in procs.items():
        bars[name].update(last_iteration(log) - bars[name].n)
        bars[name].close()
        check(proc, log, f'training {name}')
    return {name: open(osp.join(wd, 'last_checkpoint')).read().strip()
            for name, (_, _, wd) in procs.items()}


def evaluate_all(configs: List[str], checkpoints: Dict[str, str], work: str) -> Dict[str, str]:
    """tools/test.py on each last checkpoint (predictions saved as PNG); return name -> mIoU."""
    results = {}
    for cfg in tqdm(configs, desc='evaluate', unit='run'):
        name = osp.splitext(osp.basename(cfg))[0]
        wd = osp.join(work, name)
        log = osp.join(wd, 'test.log')
        proc = run_logged([sys.executable, 'tools/test.py', cfg, checkpoints[name], '--work-dir',
                           osp.join(wd, 'test'), '--out', osp.join(wd, 'predictions')], log, 2)
        proc.wait()
        check(proc, log, f'evaluating {name}')
        with open(log, errors='replace') as f:
            found = MIOU.findall(f.read())
        results[name] = found[-1] if found else 'n/a'
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--configs', nargs='+', default=CONFIGS)
    args = parser.parse_args(argv)
    work = osp.join(ROOT, args.work_dir)
    os.makedirs(work, exist_ok=True)
    start = time.time()

    print('==> [demo] 1/3 toy Stable Diffusion v1 stack (first run only; cached afterwards)')
    proc = subprocess.run([sys.executable, 'tools/pretrain_toy_models.py', '--models', 'sd'],
                          cwd=ROOT)
    if proc.returncode != 0:
        sys.exit('[demo] tools/pretrain_toy_models.py --models sd failed (see above).')

    from mmengine.config import Config
    cfgs = {osp.splitext(osp.basename(c))[0]: Config.fromfile(osp.join(ROOT, c))
            for c in args.configs}
    max_iters = max(c.train_cfg.max_iters for c in cfgs.values())
    print(f'==> [demo] 2/3 training {len(cfgs)} runs in parallel (logs: {args.work_dir}/<run>/)')
    checkpoints = train_all(args.configs, work, max_iters)
    print('==> [demo] 3/3 evaluating on the toy DELIVER depth test set')
    results = evaluate_all(args.configs, checkpoints, work)

    from mmseg_diffuda.toy.prediction_figure import prediction_figure
    figure = osp.join(work, 'predictions.png')
    # column titles: the method part of the config name (source-only, madm)
    prediction_figure(next(iter(cfgs.values())),
                      {name.split('_')[0]: osp.join(work, name, 'predictions') for name in cfgs},
                      figure)

    print(f'\nTarget mIoU on the toy DELIVER depth test set (tools/test.py, last checkpoint; '
          f'{(time.time() - start) / 60:.1f} min):')
    for name, miou in results.items():
        print(f'  {name:<45} {miou}')
    print(f'Predictions: {osp.relpath(figure, ROOT)} (target image, ground truth, '
          f'{", ".join(results)})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
