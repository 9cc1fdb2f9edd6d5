"""Train a segmentor or UDA model with an mmseg-diffuda config (MMSegmentation 1.x arguments)."""
import argparse
import logging
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner, find_latest_checkpoint

import mmseg_diffuda  # noqa: F401  (fills mmseg's registries even without custom_imports)
from mmseg.registry import RUNNERS
from mmseg_diffuda.engine import (CheckpointMismatchError, ClassMismatchError,
                                  NonFiniteLossError, is_weights_only_error,
                                  setup_cpu_distributed, weights_only_error_message)
from mmseg_diffuda.models.utils import check_pretrained_exists


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor (mmseg-diffuda)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints '
                        '(default: the config\'s work_dir, else ./work_dirs/<config name>)')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the latest checkpoint in the work dir')
    parser.add_argument('--resume-from', metavar='CKPT',
                        help='resume from this checkpoint (implies --resume)')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (AmpOptimWrapper, GPU only)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_cfg.max_iters=100 '
                        'key="[a,b]" for lists; no spaces inside a value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument(
        '--strategy', choices=['none', 'fsdp'], default='none',
        help='none: the usual Runner (one process, or DDP with --launcher pytorch). fsdp: '
        'sharded training, MMEngine\'s FlexibleRunner with FSDP2Strategy (torch FSDP2 '
        'fully_shard: the SD UNet blocks, the UNet shared with the EMA teacher and the rest '
        'of the student are sharded; the teacher is kept whole); GPUs (nccl) or CPUs (gloo); '
        'needs torchrun and --launcher pytorch; --resume is refused (docs/methods/madm.md)')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_amp(cfg: Config) -> None:
    """Switch ``OptimWrapper`` to ``AmpOptimWrapper``, keeping its other arguments."""
    wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper_type == 'AmpOptimWrapper':
        print_log('AMP is already enabled in the config.', logger='current',
                  level=logging.WARNING)
        return
    if wrapper_type != 'OptimWrapper':
        raise ValueError(f'--amp needs optim_wrapper.type=OptimWrapper, got {wrapper_type}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


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
    if args.amp:
        if args.strategy == 'fsdp':
            raise ValueError('--amp is not supported with --strategy fsdp (fp32 only).')
        enable_amp(cfg)
    cfg.resume = args.resume or args.resume_from is not None
    if args.resume_from is not None:
        cfg.load_from = args.resume_from
    if args.strategy == 'fsdp':
        enable_fsdp(cfg)
    return cfg


def enable_fsdp(cfg: Config) -> None:
    """Train with ``FlexibleRunner`` and ``FSDP2Strategy`` (``--strategy fsdp``).

    The config's own ``strategy`` entries (e.g. ``block_types``) are kept; its DDP
    ``model_wrapper_cfg`` is dropped (FSDP2 shards in place, without a wrapper).

    Args:
        cfg (Config): The full config, modified in place.

    Raises:
        ValueError: Without a distributed launcher, with ``--resume`` or with an optimiser
            wrapper other than ``OptimWrapper`` / ``AmpOptimWrapper`` (AMP is switched off).
    """
    if cfg.launcher == 'none':
        raise ValueError('--strategy fsdp needs a process group: start it with torchrun and '
                         '--launcher pytorch, e.g. `torchrun --nproc-per-node 2 tools/train.py '
                         'CONFIG --launcher pytorch --strategy fsdp` (one process: 1).')
    if cfg.resume:
        raise ValueError('--resume is not supported with --strategy fsdp (FSDP2Strategy does '
                         'not restore the sharded optimiser state); start from the weights '
                         'with --cfg-options load_from=CKPT, or resume without --strategy fsdp.')
    wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper_type == 'AmpOptimWrapper':
        # MMEngine's AMP loss scaler does not handle FSDP2's sharded gradients.
        print_log('--strategy fsdp trains in fp32: AmpOptimWrapper replaced by OptimWrapper.',
                  logger='current', level=logging.WARNING)
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            cfg.optim_wrapper.pop(key, None)
        cfg.optim_wrapper.type = 'OptimWrapper'
    elif wrapper_type != 'OptimWrapper':
        raise ValueError(f'--strategy fsdp supports optim_wrapper.type=OptimWrapper, got '
                         f'{wrapper_type}.')
    strategy = dict(cfg.get('strategy') or {})
    strategy['type'] = 'FSDP2Strategy'
    cfg.strategy = strategy
    cfg.runner_type = 'FlexibleRunner'
    cfg.pop('model_wrapper_cfg', None)


def main() -> None:
    args = parse_args()
    try:
        cfg = build_cfg(args)
    except ValueError as error:  # a command-line combination that cannot work: no traceback
        raise SystemExit(f'ValueError: {error}') from error
    if not cfg.resume and cfg.get('load_from') is None:
        # mmengine only warns about a missing init_cfg checkpoint and trains from random weights.
        check_pretrained_exists(cfg)
    setup_cpu_distributed(cfg)
    if cfg.get('runner_type') == 'FlexibleRunner':
        cfg.pop('model_wrapper_cfg', None)  # FlexibleRunner takes no wrapper config
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    try:
        runner.train()
    except (ClassMismatchError, CheckpointMismatchError, NonFiniteLossError) as error:
        raise SystemExit(f'{type(error).__name__}: {error}') from error
    except Exception as error:
        if not is_weights_only_error(error):
            raise
        checkpoint = cfg.get('load_from') or (find_latest_checkpoint(cfg.work_dir)
                                              if cfg.resume else None)
        raise SystemExit(weights_only_error_message(error, checkpoint)) from error


if __name__ == '__main__':
    main()
