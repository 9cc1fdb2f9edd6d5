"""Window means of logged training scalars (``vis_data/scalars.json``) over the iterations.

Reads the newest run of each mmengine work directory (e.g. the seeds of
``benchmarks/toy_uda_table.py``) and prints, per run and averaged over runs, the mean of each key
over windows of iterations, as a markdown table. Example (MADM's teacher confidence: the share of
target pixels whose pseudo-label passes the threshold)::

    python benchmarks/scalar_trend.py work_dirs/t_madm/madm_tiny_toy-rgb2depth_seed* \
        --keys pseudo_confidence --windows 0 50 100 150 200
"""
import argparse
import glob
import json
import os.path as osp
import statistics
from typing import Dict, List, Sequence


def training_records(work_dir: str, required: str) -> List[Dict[str, float]]:
    """The records of the newest run in ``work_dir`` that hold the key ``required``."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not logs:
        raise FileNotFoundError(f'{work_dir}: no */vis_data/scalars.json (not an mmengine work '
                                'directory, or the run has not logged yet)')
    with open(logs[-1]) as f:
        records = [json.loads(line) for line in f]
    records = [r for r in records if required in r]
    if not records:
        raise ValueError(f'{logs[-1]}: no {required} entries in the training log.')
    return records


def window_means(records: Sequence[Dict[str, float]], edges: Sequence[int],
                 keys: Sequence[str]) -> List[Dict]:
    """Mean of every key over the records with ``edges[i] < step <= edges[i+1]``."""
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = [r for r in records if low < r['step'] <= high]
        if inside:
            rows.append(dict(window=(low, high), n=len(inside),
                             **{k: statistics.mean(r[k] for r in inside) for k in keys}))
    return rows


def mean_over_runs(runs: Sequence[Sequence[Dict]], keys: Sequence[str]) -> List[Dict]:
    """Average the rows of several runs window by window."""
    rows = []
    for index, row in enumerate(runs[0]):
        same = [r[index] for r in runs if index < len(r) and r[index]['window'] == row['window']]
        rows.append(dict(window=row['window'], n=sum(r['n'] for r in same),
                         **{k: statistics.mean(r[k] for r in same) for k in keys}))
    return rows


def print_table(title: str, rows: Sequence[Dict], keys: Sequence[str]) -> None:
    print(f'{title}\n')
    print('| iterations | logs | ' + ' | '.join(keys) + ' |')
    print('|---|---|' + '---|' * len(keys))
    for row in rows:
        low, high = row['window']
        print(f'| {low + 1}-{high} | {row["n"]} | ' +
              ' | '.join(f'{row[k]:.3f}' for k in keys) + ' |')
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', help='mmengine work directories')
    parser.add_argument('--keys', nargs='+', required=True, help='logged scalar names')
    parser.add_argument('--windows', nargs='+', type=int, default=[0, 50, 100, 150, 200],
                        help='window edges in iterations: (edge_i, edge_i+1] per row')
    args = parser.parse_args()
    per_run = {d: window_means(training_records(d, args.keys[0]), args.windows, args.keys)
               for d in args.work_dirs}
    for work_dir, rows in per_run.items():
        print_table(work_dir, rows, args.keys)
    if len(per_run) > 1:
        print_table(f'mean over {len(per_run)} runs', mean_over_runs(list(per_run.values()),
                                                                      args.keys), args.keys)


if __name__ == '__main__':
    main()
