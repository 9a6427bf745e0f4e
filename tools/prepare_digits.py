"""Writes scikit-learn's digits as an image folder for the digits recipes (no download).

    python tools/prepare_digits.py data/digits [--size 32]
"""
import argparse

from addp.cli import run_tool
from addp.datasets import prepare_digits


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', nargs='?', default='data/digits', help='output folder')
    parser.add_argument('--size', type=int, default=32, help='image side in pixels')
    parser.add_argument('--num-test', type=int, default=360, help='held-out digits')
    parser.add_argument('--seed', type=int, default=0, help='seed of the train/test split')
    args = parser.parse_args(argv)
    paths = prepare_digits(args.root, args.size, args.num_test, args.seed)
    print(f'digits ready: {paths["train"]}, {paths["test"]}, annotations in {paths["meta"]}')
    return 0


if __name__ == '__main__':
    run_tool(main)
