"""Exact memory plan of one training iteration of a config, on fake tensors (no GPU needed).

Builds CONFIG's model (random weights in the real architecture) and optimiser and runs its
``train_step`` twice under ``FakeTensorMode`` at the config's crop and per-GPU batch, with
torch's ``MemTracker`` following every tensor (``mmseg_diffuda.memory``). Prints the split into
trainable weights, frozen weights, gradients, optimiser state and peak activations, and the peak.

Examples::

    python benchmarks/memory_plan.py configs/madm/madm_sd14_cityscapes2deliver-depth-512x512.py
    python benchmarks/memory_plan.py configs/madm/madm_sd14_cityscapes2deliver-depth-512x512.py \\
        --lever grad_ckpt frozen_half
    python benchmarks/memory_plan.py configs/daformer/daformer_mitb5_gta2cs-512x512.py --json
"""
import argparse
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from mmseg_diffuda.memory import LEVERS, plan_train_step  # noqa: E402
from mmseg_diffuda.memory.plan import load_plan_config  # noqa: E402
from mmseg_diffuda.memory.report import (FULL_SIZE_TABLE, TABLE_HEADER,  # noqa: E402
                                         plan_row)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', help='config file (omit with --table)')
    parser.add_argument('--lever', nargs='*', default=[], choices=sorted(LEVERS),
                        help='memory levers to switch on')
    parser.add_argument('--batch-size', type=int, help='default: train_dataloader.batch_size')
    parser.add_argument('--crop', type=int, nargs=2, metavar=('H', 'W'),
                        help='default: the data preprocessor\'s size')
    parser.add_argument('--json', action='store_true', help='print the plan as JSON')
    parser.add_argument('--table', action='store_true',
                        help='plan every full-size config with its levers (docs/benchmarks.md)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.table:
        print(TABLE_HEADER, flush=True)
        for config, levers, batch_size in FULL_SIZE_TABLE:
            try:
                plan = plan_train_step(load_plan_config(osp.join(ROOT, config)), levers,
                                       batch_size=batch_size, config_name=config)
            except Exception as error:  # keep planning the other rows; report this one
                print(f'| {config} | {", ".join(levers)} | failed: {error!r} |', flush=True)
                continue
            print(plan_row(plan), flush=True)
        return
    if args.config is None:
        sys.exit('give a CONFIG or --table')
    cfg = load_plan_config(args.config)
    plan = plan_train_step(cfg, args.lever, batch_size=args.batch_size, crop=args.crop,
                           config_name=osp.relpath(osp.abspath(args.config), ROOT))
    if args.json:
        print(json.dumps(plan.to_dict()))
        return
    print(TABLE_HEADER)
    print(plan_row(plan))


if __name__ == '__main__':
    main()
