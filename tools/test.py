"""Test (and evaluate) a checkpoint with an mmseg-diffuda config (MMSegmentation 1.x arguments).

The metrics (e.g. ``mIoU``, and ``mIoU16``/``mIoU13`` with ``SubsetIoUMetric``) are logged by
mmengine at the end, as ``Iter(test) [N/N]  aAcc: ...  mIoU: ...``.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mmseg_diffuda  # noqa: F401  (fills mmseg's registries even without custom_imports)
from mmseg.registry import RUNNERS
from mmseg_diffuda.engine import (is_weights_only_error, setup_cpu_distributed,
                                  weights_only_error_message)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for logs and the metrics json '
                        '(default: the config\'s work_dir, else ./work_dirs/<config name>)')
    parser.add_argument('--out', help='directory to save the predicted label maps as PNG')
    parser.add_argument('--show', action='store_true', help='show the predictions')
    parser.add_argument('--show-dir', help='directory (under work_dir/<timestamp>) where '
                        'painted predictions are saved')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each prediction is shown with --show')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. test_dataloader.batch_size=1')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation '
                        '(the config\'s tta_pipeline and tta_model)')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_visualization(cfg: Config, args: argparse.Namespace) -> None:
    """Turn on ``SegVisualizationHook`` drawing of every image for ``--show`` / ``--show-dir``."""
    if 'visualization' not in cfg.default_hooks:
        raise KeyError('--show/--show-dir need default_hooks.visualization='
                       "dict(type='SegVisualizationHook') in the config")
    hook = cfg.default_hooks.visualization
    hook.draw = True
    hook.interval = 1  # every image: the default interval (50) skips small test sets
    if args.show:
        hook.show = True
        hook.wait_time = args.wait_time
    if args.show_dir:
        cfg.visualizer.save_dir = args.show_dir


def build_cfg(args: argparse.Namespace) -> Config:
    """Load the config and apply the command-line options."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # work_dir priority: command line > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        cfg.test_evaluator.output_dir = args.out
    return cfg


def main() -> None:
    args = parse_args()
    cfg = build_cfg(args)
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    try:
        runner.test()
    except Exception as error:
        if not is_weights_only_error(error):
            raise
        raise SystemExit(weights_only_error_message(error, args.checkpoint)) from error


if __name__ == '__main__':
    main()
