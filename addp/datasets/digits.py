"""scikit-learn's handwritten digits as an image folder: real data that needs no download.

1,797 8 x 8 digits (UCI optical recognition set) ship inside the scikit-learn wheel. They are
split once with a fixed seed and upsampled to the model's size, laid out as mmpretrain's
``CustomDataset`` reads a folder of class subfolders::

    root/train/<digit>/<index>.png       1,437 images by default
    root/test/<digit>/<index>.png        360 images
    root/meta/train.txt, test.txt        "<relative path> <label>" per line
    root/meta/train_<k>shot_seed<s>.txt  k images per class, drawn with seed s
"""
from typing import Dict, Sequence, Tuple

import numpy as np
from PIL import Image

from .labelled_folder import write_labelled_folder

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


def prepare_digits(root: str, size: int = 32, num_test: int = 360, seed: int = 0,
                   shots: int = 10, shot_seeds: Sequence[int] = (0, 1, 2)) -> Dict[str, str]:
    """Writes the digits folder under ``root`` (see the module docstring); files already there
    are kept, and a folder written with other settings is refused.

    Returns:
        dict: ``train`` and ``test`` folders, and ``meta`` (the annotation folder).
    """
    train_x, test_x, train_y, test_y = load_digits_split(num_test, seed)
    return write_labelled_folder(
        root, dict(size=size, num_test=num_test, seed=seed),
        lambda i: upsample_digit(train_x[i], size), train_y,
        lambda i: upsample_digit(test_x[i], size), test_y, shots, shot_seeds)
