"""scikit-learn's handwritten digits as an image folder: real data that needs no download.

1,797 8 x 8 digits (UCI optical recognition set) ship inside the scikit-learn wheel. They are
split once with a fixed seed and upsampled to the model's size, laid out as mmpretrain's
``CustomDataset`` reads a folder of class subfolders::

    root/train/<digit>/<index>.png       1,437 images by default
    root/test/<digit>/<index>.png        360 images
    root/meta/train.txt, test.txt        "<relative path> <label>" per line
    root/meta/train_<k>shot_seed<s>.txt  k images per class, drawn with seed s
"""
import json
import os
import os.path as osp
from typing import Dict, Sequence, Tuple

import numpy as np
from PIL import Image

from addp.errors import InvalidInputError
from addp.fileio import write_atomically, write_text_atomically

# The digits' pixel values run from 0 to 16.
DIGIT_MAX = 16.
DIGIT_SIZE = 8


def load_digits_split(num_test: int = 360, seed: int = 0
                      ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The seeded split: train and test pixels (M, 8, 8) in [0, 16] and labels (M, )."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    return tuple(train_test_split(digits.images, digits.target, test_size=num_test,
                                  random_state=seed, stratify=digits.target))


def upsample_digit(pixels: np.ndarray, size: int) -> Image.Image:
    """An 8 x 8 digit in [0, 16] as a bicubic-upsampled ``size`` x ``size`` grey image."""
    image = Image.fromarray(np.round(pixels * (255. / DIGIT_MAX)).astype(np.uint8), mode='L')
    return image.resize((size, size), Image.BICUBIC)


def downsample_to_digit(image: Image.Image) -> np.ndarray:
    """A generated or stored image back on the digits' 8 x 8 grid in [0, 16] (box filter)."""
    grey = image.convert('L').resize((DIGIT_SIZE, DIGIT_SIZE), Image.BOX)
    return np.asarray(grey, dtype=np.float64) * (DIGIT_MAX / 255.)


def _write_split(root: str, split: str, pixels: np.ndarray, labels: np.ndarray,
                 size: int) -> list:
    lines = []
    for index, (digit, label) in enumerate(zip(pixels, labels)):
        relative = f'{label}/{index:04d}.png'
        path = osp.join(root, split, relative)
        if not osp.isfile(path):
            image = upsample_digit(digit, size)
            write_atomically(path, lambda tmp: image.save(tmp, format='PNG'))
        lines.append(f'{relative} {label}')
    return lines


def _write_lines(path: str, lines: Sequence[str]) -> None:
    write_text_atomically(path, '\n'.join(lines) + '\n')


def prepare_digits(root: str, size: int = 32, num_test: int = 360, seed: int = 0,
                   shots: int = 10, shot_seeds: Sequence[int] = (0, 1, 2)) -> Dict[str, str]:
    """Writes the digits folder under ``root`` (see the module docstring); files already there
    are kept, and a folder written with other settings is refused.

    Returns:
        dict: ``train`` and ``test`` folders, and ``meta`` (the annotation folder).

    Raises:
        ValueError: ``root`` holds digits written with other settings.
    """
    settings = dict(size=size, num_test=num_test, seed=seed, shots=shots,
                    shot_seeds=list(shot_seeds))
    settings_path = osp.join(root, 'meta', 'settings.json')
    if osp.isfile(settings_path):
        with open(settings_path) as f:
            found = json.load(f)
        if found != settings:
            raise InvalidInputError(f'{root} holds digits written with {found}, not {settings}; '
                                    'remove it or choose another folder')
    train_x, test_x, train_y, test_y = load_digits_split(num_test, seed)
    meta = osp.join(root, 'meta')
    os.makedirs(meta, exist_ok=True)
    train_lines = _write_split(root, 'train', train_x, train_y, size)
    _write_lines(osp.join(meta, 'train.txt'), train_lines)
    _write_lines(osp.join(meta, 'test.txt'), _write_split(root, 'test', test_x, test_y, size))
    for shot_seed in shot_seeds:
        rng = np.random.default_rng(shot_seed)
        chosen = [i for label in range(10)
                  for i in rng.choice(np.flatnonzero(train_y == label), shots, replace=False)]
        _write_lines(osp.join(meta, f'train_{shots}shot_seed{shot_seed}.txt'),
                     [train_lines[i] for i in sorted(chosen)])
    _write_lines(settings_path, [json.dumps(settings)])
    return dict(train=osp.join(root, 'train'), test=osp.join(root, 'test'), meta=meta)
