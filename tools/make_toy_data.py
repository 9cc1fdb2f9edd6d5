"""Write the procedural toy dataset (GTA5-format source, Cityscapes-format target, DELIVER-format
depth-like target) used by the toy configs and the CPU smoke tests.

Example::

    python tools/make_toy_data.py --out data/toy
    python tools/dataset_converters/gta5.py data/toy/gta
    python tools/dataset_converters/cityscapes.py data/toy/cityscapes
"""
import argparse
import json
import os
import sys
import time
from typing import List, Optional

from mmseg_diffuda.toy import generate_toy_dataset


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments (default: ``sys.argv[1:]``).

    Returns:
        argparse.Namespace: Parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Generate the mmseg-diffuda toy street-scene dataset.')
    parser.add_argument('--out', default='data/toy', help='output root (default: data/toy)')
    parser.add_argument('--num-source', type=int, default=300, help='GTA5-format source images')
    parser.add_argument('--num-target-train', type=int, default=200,
                        help='Cityscapes-format train images')
    parser.add_argument('--num-target-val', type=int, default=60,
                        help='Cityscapes-format val images')
    parser.add_argument('--num-deliver-train', type=int, default=200,
                        help='DELIVER-format train frames')
    parser.add_argument('--num-deliver-test', type=int, default=60,
                        help='DELIVER-format test frames')
    parser.add_argument('--height', type=int, default=96, help='image height (default: 96)')
    parser.add_argument('--width', type=int, default=192, help='image width (default: 192)')
    parser.add_argument('--seed', type=int, default=0,
                        help='dataset seed (same seed = identical files)')
    parser.add_argument('--workers', type=int, default=min(4, os.cpu_count() or 1),
                        help='worker processes (the output does not depend on it)')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='delete existing gta/, cityscapes/ and deliver/ trees under --out first')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Generate the toy dataset and print what was written and the next steps.

    Args:
        argv (list[str], optional): Command-line arguments.

    Returns:
        dict: The summary returned by :func:`mmseg_diffuda.toy.generate_toy_dataset`.
    """
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        summary = generate_toy_dataset(
            args.out, num_source=args.num_source, num_target_train=args.num_target_train,
            num_target_val=args.num_target_val, num_deliver_train=args.num_deliver_train,
            num_deliver_test=args.num_deliver_test, height=args.height, width=args.width,
            seed=args.seed, workers=args.workers, overwrite=args.overwrite)
    except (FileExistsError, ValueError) as err:
        sys.exit(f'make_toy_data: {err}')
    elapsed = time.perf_counter() - start
    gta, cs, dl = summary['gta'], summary['cityscapes'], summary['deliver']
    print(f'Wrote the toy dataset ({args.height}x{args.width}, seed {args.seed}) '
          f'to {summary["root"]} in {elapsed:.1f} s:')
    print(f'  source  (GTA5 format)       {gta["root"]}: {gta["images"]} images + labels')
    print(f'  target  (Cityscapes format) {cs["root"]}: train {cs["train"]}, val {cs["val"]} '
          '(leftImg8bit, gtFine labelIds, disparity, camera)')
    print(f'  depth   (DELIVER format)    {dl["root"]}: train {dl["train"]}, test {dl["test"]} '
          f'(img, depth, semantic; conditions {", ".join(dl["conditions"])})')
    print('Class pixel fractions of the source:')
    print('  ' + json.dumps(summary['class_pixel_fraction']['gta']))
    print('Next step: convert the labels to train ids and compute the rare-class statistics:')
    print(f'  python tools/dataset_converters/gta5.py {gta["root"]}')
    print(f'  python tools/dataset_converters/cityscapes.py {cs["root"]}')
    return summary


if __name__ == '__main__':
    main()
