# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Command-line driver of the target-modality label converters (no RCS statistics).

``tools/dataset_converters/{deliver,fmb}.py`` convert a target dataset's labels to MADM class ids
and write them as ``*_labelTrainIds.png`` next to the originals, like the source converters, but
write no rare class sampling statistics: rare class sampling draws source images only.
"""
import argparse
import os.path as osp
from typing import Callable, Sequence

from ..checks import DatasetLayout, check_data_dirs
from ..label_conversion import convert_files


def convert_target_labels(layout: DatasetLayout, args: argparse.Namespace,
                          label_dirs: Sequence[str], rel_paths: Sequence[str],
                          worker: Callable[..., None]) -> str:
    """Convert the label files of a target dataset.

    Args:
        layout (DatasetLayout): The dataset's layout (named in errors).
        args (argparse.Namespace): ``data_root``, ``nproc`` and ``out_dir`` from
            ``parse_converter_args``.
        label_dirs (Sequence[str]): Label folders below the data root (checked to exist).
        rel_paths (Sequence[str]): Label files relative to the data root.
        worker (Callable): The per-file converter ``(rel_path, data_root, out_root) -> None``.

    Returns:
        str: The output root.

    Raises:
        FileNotFoundError: When a label folder is missing or holds no label file, naming the
            expected layout and the download page.
    """
    check_data_dirs(f'{layout.name} converter', layout, args.data_root,
                    [osp.join(args.data_root, label_dir) for label_dir in label_dirs])
    if not rel_paths:
        raise FileNotFoundError(
            f'{layout.name} converter: no label files found below {list(label_dirs)} of '
            f'{args.data_root!r}.\n{layout.describe(args.data_root)}')
    out_root = args.out_dir or args.data_root
    convert_files(worker, rel_paths, args.data_root, out_root, args.nproc)
    print(f'{layout.name}: wrote {len(rel_paths)} label maps with MADM class ids to {out_root}')
    return out_root
