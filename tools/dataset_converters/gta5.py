# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Convert GTA5 labels to Cityscapes trainIds and write the rare class sampling statistics.

Usage::

    python tools/dataset_converters/gta5.py data/gta --nproc 8

Reads ``labels/<name>.png`` (palette PNGs of Cityscapes label ids), writes
``labels/<name>_labelTrainIds.png`` with the ids of ``cityscapesscripts.helpers.labels`` and
``sample_class_stats.json`` / ``samples_with_class.json`` in the data root, as DAFormer's
``tools/convert_datasets/gta.py`` (Hoyer et al., CVPR 2022). A label id outside 0..33 is an error
naming the file.
"""
from typing import Optional, Sequence

from mmseg_diffuda.datasets.label_conversion import (convert_dataset, convert_gta5_label,
                                                     find_files, parse_converter_args)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Convert the GTA5 tree given on the command line."""
    args = parse_converter_args('Convert GTA5 labels to Cityscapes trainIds + RCS statistics',
                                argv)
    rel_paths = find_files(args.data_root, 'labels', '.png')
    convert_dataset('GTA5Dataset', args, 'labels', rel_paths, convert_gta5_label)


if __name__ == '__main__':
    main()
