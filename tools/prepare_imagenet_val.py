"""Prepare the 256 x 256 center-crop PNG reference set of ImageNet val for FID and IS.

    python tools/prepare_imagenet_val.py data/imagenet/val data/imagenet-val-256

Resumable: files already written are kept.
"""
import argparse

from addp.cli import run_tool
from addp.evaluation import prepare_reference_set


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='ImageNet val folder (class sub-folders, or flat)')
    parser.add_argument('out', help='output folder of 00000.png ...')
    parser.add_argument('--size', type=int, default=256, help='side of the crop')
    parser.add_argument('--num-workers', type=int, default=8, help='parallel processes')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    written = prepare_reference_set(args.src, args.out, args.size, args.num_workers)
    print(f'{written} images written to {args.out}')
    return written


if __name__ == '__main__':
    run_tool(main)
