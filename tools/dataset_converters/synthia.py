# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Convert SYNTHIA-RAND-CITYSCAPES labels to Cityscapes trainIds and write the RCS statistics.

Usage::

    python tools/dataset_converters/synthia.py data/synthia --nproc 8

Reads ``GT/LABELS/<name>.png`` with OpenCV (16-bit, class id in the last channel), maps the ids
with ``mmseg_diffuda.datasets.synthia.SYNTHIA_ID_TO_TRAINID`` and writes
``GT/LABELS/<name>_labelTrainIds.png`` plus ``sample_class_stats.json`` /
``samples_with_class.json`` in the data root, as DAFormer's
``tools/convert_datasets/synthia.py`` (Hoyer et al., CVPR 2022). An id above 22 is an error
naming the file.
"""
from typing import Optional, Sequence

from mmseg_diffuda.datasets.label_conversion import (convert_dataset, convert_synthia_label,
                                                     find_files, parse_converter_args)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Convert the SYNTHIA tree given on the command line."""
    args = parse_converter_args(
        'Convert SYNTHIA-RAND-CITYSCAPES labels to Cityscapes trainIds + RCS statistics', argv)
    rel_paths = find_files(args.data_root, 'GT/LABELS', '.png')
    convert_dataset('SynthiaDataset', args, 'GT/LABELS', rel_paths, convert_synthia_label)


if __name__ == '__main__':
    main()
