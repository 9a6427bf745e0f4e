"""The reconstruction panel of the two token layouts: for each folder, held-out images, then the
same images through the 4 x 4 grid of 32 codes and through the 8 x 8 grid of 256.

    python projects/digits_study/tools/reconstructions.py OUT.png \
        --folder digits data/digits work_dirs/tok/digits_4x4.ckpt work_dirs/tok/digits_8x8.ckpt \
        --folder mnist data/mnist ... [--num-images 10]

The images are spread over each folder's validation part (the tenth of train/ that the
tokenizer recipes hold out), never the test split. Each row's title gives its mean PSNR over
the images shown.
"""
import argparse
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from addp.datasets import CheckedCustomDataset
from addp.fileio import write_atomically
from addp.image_io import pil_to_tensor, read_rgb, to_uint8
from addp.metrics import psnr
from addp.registry import MODELS

from . import REPO

# The recipes that train each layout's tokenizer.
LAYOUT_CONFIGS = {
    '4 x 4 grid, 32 codes': osp.join(REPO, 'configs', 'digits', 'vqgan_tiny_digits.py'),
    '8 x 8 grid, 256 codes': osp.join(REPO, 'configs', 'digits', 'vqgan_tiny_grid8.py'),
}


def held_out_images(root: str, count: int) -> torch.Tensor:
    """``count`` images spread evenly over ``root/train``'s validation part (class folders
    come in order, so the first few would all be one class), (N, 3, H, W) in [0, 1]."""
    dataset = CheckedCustomDataset(data_root=root, data_prefix='train', with_label=False,
                                   holdout=dict(fraction=0.1, seed=0, part='val'))
    picks = np.unique(np.linspace(0, len(dataset) - 1, count).round().astype(int))
    paths = [dataset.get_data_info(int(i))['img_path'] for i in picks]
    return torch.cat([pil_to_tensor(read_rgb(path)) for path in paths])


@torch.no_grad()
def reconstruct(layout: str, checkpoint: str, pixels: torch.Tensor) -> torch.Tensor:
    """``pixels`` encoded to tokens and decoded by the tokenizer of ``layout`` in
    ``checkpoint`` (the released tokenizer layout, as the study exports it)."""
    cfg = Config.fromfile(LAYOUT_CONFIGS[layout])
    tokenizer = MODELS.build(dict(cfg.model.tokenizer, checkpoint=checkpoint)).eval()
    _, latent = tokenizer.encode(pixels)
    return tokenizer.decode(latent).clamp(0, 1)


def panel_rows(folders: Sequence[Tuple[str, str, str, str]], count: int
               ) -> List[Tuple[str, torch.Tensor]]:
    """(title, images) rows: for each folder its real images, then each layout's rebuild."""
    init_default_scope('addp')
    rows = []
    for name, root, *checkpoints in folders:
        real = held_out_images(root, count)
        rows.append((f'{name}: real (validation part)', real))
        for layout, checkpoint in zip(LAYOUT_CONFIGS, checkpoints):
            rebuilt = reconstruct(layout, checkpoint, real)
            rows.append((f'{name}: {layout}, {float(psnr(rebuilt, real).mean()):.2f} dB',
                         rebuilt))
    return rows


def draw(rows: Sequence[Tuple[str, torch.Tensor]], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(len(rows), 1, figsize=(10, 1.45 * len(rows)))
    for axis, (title, images) in zip(axes, rows):
        axis.imshow(np.concatenate(list(to_uint8(images)), axis=1))
        axis.set_title(title, fontsize=9, loc='left')
        axis.axis('off')
    write_atomically(path, lambda tmp: figure.savefig(tmp, format='png', dpi=100,
                                                      bbox_inches='tight'))
    plt.close(figure)


def main(argv=None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='the PNG to write')
    parser.add_argument('--folder', nargs=4, action='append', required=True,
                        metavar=('NAME', 'ROOT', 'CKPT_4X4', 'CKPT_8X8'),
                        help='a folder and its two tokenizers; repeat for more folders')
    parser.add_argument('--num-images', type=int, default=10)
    args = parser.parse_args(argv)
    rows = panel_rows(args.folder, args.num_images)
    draw(rows, args.out)
    for title, _ in rows:
        print(title)
    return 0
