# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Convert FMB labels to MADM's 9 infrared classes.

Usage::

    python tools/dataset_converters/fmb.py data/fmb --nproc 8

Reads ``{train,test}/Label/<name>.png`` (FMB class values 0..14, 0 = unlabelled; Liu et al.,
ICCV 2023) and writes ``<name>_labelTrainIds.png`` next to each with the class ids of MADM's
9-class set (Xia et al., NeurIPS 2024; the conversion of the official
``config_files/common/data/cityscapes_rgb_to_fmb_9_infrared_semseg.py``, see
``mmseg_diffuda.datasets.modality.fmb.FMB_TO_MADM``). ``test/Label`` must exist (it is what the
benchmark evaluates on); ``train/Label`` is converted too when present. A value that is no FMB
class is an error naming the file. No rare class sampling statistics are written: FMB is a target.
"""
import os.path as osp
from typing import Optional, Sequence

from mmseg_diffuda.datasets.label_conversion import find_files, parse_converter_args
from mmseg_diffuda.datasets.modality.conversion import convert_target_labels
from mmseg_diffuda.datasets.modality.fmb import FMB_LAYOUT, convert_fmb_label

TEST_LABEL_DIR = 'test/Label'
TRAIN_LABEL_DIR = 'train/Label'


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Convert the FMB tree given on the command line."""
    args = parse_converter_args('Convert FMB labels to MADM 9-class ids', argv)
    label_dirs = [TEST_LABEL_DIR]
    if osp.isdir(osp.join(args.data_root, TRAIN_LABEL_DIR)):
        label_dirs.append(TRAIN_LABEL_DIR)
    rel_paths = sorted(path for label_dir in label_dirs
                       for path in find_files(args.data_root, label_dir, '.png'))
    convert_target_labels(FMB_LAYOUT, args, label_dirs, rel_paths, convert_fmb_label)


if __name__ == '__main__':
    main()
