# Copyright (c) mmseg-diffuda contributors. All rights reserved.
"""Convert Cityscapes annotations to trainIds and write the rare class sampling statistics.

Usage::

    python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8

Writes ``gtFine/<split>/<city>/<name>_gtFine_labelTrainIds.png`` from
``<name>_gtFine_labelIds.png`` (or, where that file is absent, from
``<name>_gtFine_polygons.json`` via ``cityscapesscripts``), with the ids of
``cityscapesscripts.helpers.labels``, and ``sample_class_stats.json`` /
``samples_with_class.json`` of the train split in the data root, as DAFormer's
``tools/convert_datasets/cityscapes.py`` (Hoyer et al., CVPR 2022).
"""
from typing import List, Optional, Sequence

from mmseg_diffuda.datasets.label_conversion import (convert_cityscapes_label, convert_dataset,
                                                     find_files, parse_converter_args)

LABEL_IDS_SUFFIX = '_gtFine_labelIds.png'
POLYGONS_SUFFIX = '_gtFine_polygons.json'


def annotation_files(data_root: str) -> List[str]:
    """Return one annotation per frame below ``gtFine``: the label-id PNG, else the polygons.

    Args:
        data_root (str): The Cityscapes data root.

    Returns:
        list[str]: Sorted annotation paths relative to the data root.
    """
    pngs = find_files(data_root, 'gtFine', LABEL_IDS_SUFFIX)
    frames = {path[:-len(LABEL_IDS_SUFFIX)] for path in pngs}
    polygons = [path for path in find_files(data_root, 'gtFine', POLYGONS_SUFFIX)
                if path[:-len(POLYGONS_SUFFIX)] not in frames]
    return sorted(pngs + polygons)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Convert the Cityscapes tree given on the command line."""
    args = parse_converter_args('Convert Cityscapes annotations to trainIds + RCS statistics',
                                argv)
    convert_dataset('CityscapesDataset', args, 'gtFine', annotation_files(args.data_root),
                    convert_cityscapes_label)


if __name__ == '__main__':
    main()
