"""Discriminator accuracy over training of ICCLD runs: the evidence that latent alignment happens.

ICCLD (our interpretation, docs/methods/iccld.md) trains a three-domain discriminator (source /
mixed / target) on the UNet's latent features while the segmenter is trained to confuse it. If
the alignment works, the discriminator's accuracy moves toward chance (1/3) over training. The
trainer logs ``disc.acc`` (and per domain) every ``logger.interval`` iterations; this script reads
the ``scalars.json`` of one or more work directories (e.g. the seeds of
``benchmarks/toy_uda_table.py``) and prints the window means of the accuracies as a markdown
table, per run and averaged over runs. Example::

    python benchmarks/iccld_disc_trend.py work_dirs/iccld_table/iccld_sd-tiny_toy_seed* \
        --windows 0 100 250 500 750 1000
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Sequence

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import scalar_trend  # noqa: E402

KEYS = ('disc.acc', 'disc.acc_source', 'disc.acc_mixed', 'disc.acc_target', 'disc.domain_ce')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', help='work directories of ICCLD runs')
    parser.add_argument('--windows', nargs='+', type=int, default=[0, 100, 250, 500, 750, 1000],
                        help='window edges in iterations: (edge_i, edge_i+1] per row')
    return parser.parse_args()


def training_records(work_dir: str) -> List[Dict[str, float]]:
    """The training records (those with ``disc.acc``) of the newest run in ``work_dir``."""
    return scalar_trend.training_records(work_dir, 'disc.acc')


def window_means(records: Sequence[Dict[str, float]], edges: Sequence[int]) -> List[Dict]:
    """Mean of every key in ``KEYS`` over the records with ``edges[i] < step <= edges[i+1]``."""
    return scalar_trend.window_means(records, edges, KEYS)


def print_table(title: str, rows: Sequence[Dict]) -> None:
    print(f'{title}\n')
    print('| iterations | logs | disc.acc | source | mixed | target | domain CE |')
    print('|---|---|---|---|---|---|---|')
    for row in rows:
        low, high = row['window']
        print(f'| {low + 1}-{high} | {row["n"]} | {row["disc.acc"]:.3f} | '
              f'{row["disc.acc_source"]:.3f} | {row["disc.acc_mixed"]:.3f} | '
              f'{row["disc.acc_target"]:.3f} | {row["disc.domain_ce"]:.3f} |')
    print()


def main() -> None:
    args = parse_args()
    per_run = {work_dir: window_means(training_records(work_dir), args.windows)
               for work_dir in args.work_dirs}
    for work_dir, rows in per_run.items():
        print_table(f'{work_dir} (chance: acc 1/3, domain CE ln 3 = 1.099)', rows)
    if len(per_run) > 1:
        mean_rows = scalar_trend.mean_over_runs(list(per_run.values()), KEYS)
        print_table(f'mean over {len(per_run)} runs', mean_rows)


if __name__ == '__main__':
    main()
