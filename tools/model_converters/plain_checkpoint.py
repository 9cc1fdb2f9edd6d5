"""Rewrite an mmengine checkpoint as plain data, loadable with ``torch.load(weights_only=True)``.

Checkpoints written by mmengine 0.10.7 without ``PlainDataCheckpointHook`` (older runs, other
tools) pickle the message hub's ``HistoryBuffer`` objects and numpy scalars. torch >= 2.6 refuses
them in its default safe mode, so ``--resume`` and ``tools/test.py`` stop with an unpickling error.

Reading such a file needs full unpickling (``weights_only=False``), and full unpickling runs
whatever code the file's pickle stream names: a checkpoint from an untrusted source can execute
arbitrary commands. This tool therefore loads unsafely **only** when ``--trust`` is given, i.e.
when you state that you made the file yourself or trust its origin. It converts the content once
(:func:`mmseg_diffuda.engine.to_plain_data`, the same conversion the hook applies at save time),
checks that the copy loads safely and writes it; everything else in the project keeps safe
loading on.

The output must be a new file (the input is kept: if the conversion goes wrong, nothing is lost).
Example::

    python tools/model_converters/plain_checkpoint.py \
        work_dirs/old/iter_4000.pth work_dirs/old/iter_4000_plain.pth --trust
"""
import argparse
import io
import os.path as osp
import pickle

import torch

from mmseg_diffuda.engine import (atomic_write_bytes, find_non_plain, to_plain_data,
                                  weights_only_error_detail)
from mmseg_diffuda.engine.plain_data import describe_unsafe_checkpoint, plain_copy_path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a checkpoint to plain data (loadable with weights_only=True)')
    parser.add_argument('src', help='checkpoint to convert')
    parser.add_argument('dst', help='output path, a new file (not SRC)')
    parser.add_argument(
        '--trust', action='store_true',
        help='load SRC with weights_only=False if safe loading fails. Unpickling can run '
        'arbitrary code: pass this only for checkpoints you made or trust.')
    return parser.parse_args()


def load_checkpoint(path: str, trust: bool) -> dict:
    """Load ``path`` safely, falling back to full unpickling only when ``trust`` is set."""
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        if not trust:
            raise SystemExit(
                f'{describe_unsafe_checkpoint(path, weights_only_error_detail(error))}\n'
                'Loading it fully can execute code stored in the file. If you made the file or '
                'trust its source, run again with --trust.') from error
    return torch.load(path, map_location='cpu', weights_only=False)


def save_atomically(checkpoint: dict, path: str) -> None:
    """Serialise ``checkpoint``, check that it loads safely, then write it atomically."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    torch.load(buffer, map_location='cpu', weights_only=True)
    atomic_write_bytes(buffer.getvalue(), path)


def main() -> None:
    args = parse_args()
    if osp.abspath(args.src) == osp.abspath(args.dst) or (
            osp.exists(args.src) and osp.exists(args.dst) and osp.samefile(args.src, args.dst)):
        raise SystemExit(
            f'plain_checkpoint.py writes a new file and keeps {args.src}; give another output, '
            f'e.g. {plain_copy_path(args.src)}.')
    checkpoint = to_plain_data(load_checkpoint(args.src, args.trust))
    leftovers = find_non_plain(checkpoint)
    if leftovers:
        raise SystemExit(f'{args.src}: no plain-data form is known for ' + ', '.join(leftovers))
    save_atomically(checkpoint, args.dst)
    print(f'Wrote {args.dst}: loads with torch.load(weights_only=True).')


if __name__ == '__main__':
    main()
