"""Prints what a tokenizer of a given token layout can reach on a folder, without training one.

    python tools/tokenizer_rate_bound.py data/photos --patch-size 8 --num-codes 32 128

For each codebook size K it fits k-means with K centres to the non-overlapping patches of the
train split's training part and reconstructs every image of its validation part (the tenth
that the tokenizer recipes hold out, ``holdout=dict(fraction=0.1, seed=0)``) from its patches'
nearest centres: a tokenizer with one token per patch and K codes, and a decoder that draws each
token alone. Next to it, the held-out mean image's PSNR, the baseline that
``ReconstructionMetric`` reports (which reads at most 512 images). A trained tokenizer far under
this bound is under-trained; a PSNR target far above it needs more tokens or more codes. The
test split is never read: a layout chosen from these numbers is chosen on train images.
"""
import argparse
from typing import Dict, Sequence, Tuple

import numpy as np
import torch

from addp.cli import run_tool
from addp.datasets import CheckedCustomDataset, LoadAnyImageFromFile
from addp.errors import InvalidInputError
from addp.metrics import mean_image_psnr, psnr


def read_split(root: str, part: str, holdout_fraction: float = 0.1) -> torch.Tensor:
    """The images of ``root/train``'s ``part`` ('train' or 'val', as the tokenizer recipes'
    seeded hold-out splits it) as (N, 3, H, W) in [0, 1], found, checked and read as those
    recipes read them; all must have one size."""
    dataset = CheckedCustomDataset(
        data_root=root, data_prefix='train', with_label=False, pipeline=[LoadAnyImageFromFile()],
        holdout=dict(fraction=holdout_fraction, seed=0, part=part))
    images = [dataset[i]['img'][..., ::-1] for i in range(len(dataset))]  # BGR to RGB
    sizes = {image.shape[:2] for image in images}
    if len(sizes) > 1:
        raise InvalidInputError(f'images under {dataset.img_prefix!r} have {len(sizes)} sizes '
                                f'({sorted(sizes)[:3]}...); resize them to one size first')
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255


def to_patches(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(N, C, H, W) to (N * H/p * W/p, C * p * p) non-overlapping patches, row-major."""
    N, C, H, W = images.shape
    if H % patch_size or W % patch_size:
        raise InvalidInputError(f'{H} x {W} images do not split into {patch_size} px patches; '
                                'choose a --patch-size that divides both sides')
    patches = images.unfold(2, patch_size, patch_size).unfold(3, patch_size, patch_size)
    return patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, C * patch_size * patch_size)


def from_patches(patches: torch.Tensor, shape: Sequence[int], patch_size: int) -> torch.Tensor:
    """The inverse of :func:`to_patches` for images of ``shape`` (N, C, H, W)."""
    N, C, H, W = shape
    grid = patches.reshape(N, H // patch_size, W // patch_size, C, patch_size, patch_size)
    return grid.permute(0, 3, 1, 4, 2, 5).reshape(N, C, H, W)


def kmeans_psnr(train: torch.Tensor, held_out: torch.Tensor, patch_size: int, num_codes: int,
                seed: int = 0) -> float:
    """Mean PSNR (dB) of ``held_out`` rebuilt from k-means centres of ``train``'s patches."""
    from sklearn.cluster import KMeans
    kmeans = KMeans(num_codes, n_init=1, random_state=seed).fit(
        to_patches(train, patch_size).numpy())
    held_out_patches = to_patches(held_out, patch_size).numpy()
    centres = kmeans.cluster_centers_[kmeans.predict(held_out_patches)].astype(np.float32)
    rebuilt = from_patches(torch.from_numpy(centres), held_out.shape, patch_size)
    return float(psnr(rebuilt, held_out).mean())


def rate_bound(root: str, patch_size: int, codebook_sizes: Sequence[int], seed: int = 0,
               holdout_fraction: float = 0.1) -> Tuple[float, Dict[int, float]]:
    """The mean-image PSNR of ``root/train``'s held-out part and, per codebook size, its
    k-means PSNR."""
    train = read_split(root, 'train', holdout_fraction)
    held_out = read_split(root, 'val', holdout_fraction)
    return float(mean_image_psnr(held_out)), {
        num_codes: kmeans_psnr(train, held_out, patch_size, num_codes, seed)
        for num_codes in codebook_sizes}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='a folder with a train/ split of images of one size')
    parser.add_argument('--patch-size', type=int, default=8,
                        help='pixels per token side: 2 ** (number of downsamplings)')
    parser.add_argument('--num-codes', type=int, nargs='+', default=[32])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--holdout-fraction', type=float, default=0.1,
                        help='the share of train/ held out to read the bound on')
    args = parser.parse_args(argv)
    baseline, bounds = rate_bound(args.root, args.patch_size, args.num_codes, args.seed,
                                  args.holdout_fraction)
    print(f'held-out mean image: {baseline:.2f} dB')
    for num_codes, value in bounds.items():
        print(f'{args.patch_size} px patches, {num_codes} codes (k-means): {value:.2f} dB '
              f'({value - baseline:+.2f})')
    return 0


if __name__ == '__main__':
    run_tool(main)
