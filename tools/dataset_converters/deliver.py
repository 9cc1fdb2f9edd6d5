# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Convert DELIVER semantic labels to MADM's 11 depth/event classes.

Usage::

    python tools/dataset_converters/deliver.py data/deliver --nproc 8

Reads ``semantic/<cond>/<split>/<seq>/<frame>_semantic_front.png`` (DELIVER class id + 1 in the
red channel, 0 = unlabelled; Zhang et al., CVPR 2023) and writes
``<frame>_semantic_front_labelTrainIds.png`` next to it with the class ids of MADM's 11-class set
(Xia et al., NeurIPS 2024; the conversion of the official
``config_files/common/data/cityscapes_rgb_to_deliver_11_depth_semseg.py``, see
``mmseg_diffuda.datasets.modality.deliver.DELIVER_TO_MADM``). A value that is no DELIVER class is
an error naming the file. No rare class sampling statistics are written: DELIVER is a target.
"""
from typing import Optional, Sequence

from mmseg_diffuda.datasets.label_conversion import find_files, parse_converter_args
from mmseg_diffuda.datasets.modality.conversion import convert_target_labels
from mmseg_diffuda.datasets.modality.deliver import (DELIVER_LAYOUT, DELIVER_SEMANTIC_SUFFIX,
                                                     convert_deliver_label)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Convert the DELIVER tree given on the command line."""
    args = parse_converter_args('Convert DELIVER semantic labels to MADM 11-class ids', argv)
    rel_paths = find_files(args.data_root, 'semantic', DELIVER_SEMANTIC_SUFFIX)
    convert_target_labels(DELIVER_LAYOUT, args, ['semantic'], rel_paths, convert_deliver_label)


if __name__ == '__main__':
    main()
