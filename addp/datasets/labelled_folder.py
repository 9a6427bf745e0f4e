"""Writing a labelled split as the image folder that mmpretrain's ``CustomDataset`` reads::

    root/train/<label>/<index>.png       the training images
    root/test/<label>/<index>.png        the held-out images
    root/meta/train.txt, test.txt        "<relative path> <label>" per line
    root/meta/train_<k>shot_seed<s>.txt  k training images per class, drawn with seed s
    root/meta/settings.json              what the folder was written with
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, Sequence

import numpy as np
from PIL import Image

from addp.errors import InvalidInputError
from addp.fileio import write_atomically, write_text_atomically

# Makes the image of sample i of a split; called only for files not written yet.
ImageMaker = Callable[[int], Image.Image]


def _write_split(root: str, split: str, make_image: ImageMaker, labels: np.ndarray) -> list:
    lines = []
    for index, label in enumerate(labels):
        relative = f'{label}/{index:04d}.png'
        path = osp.join(root, split, relative)
        if not osp.isfile(path):
            image = make_image(index)
            write_atomically(path, lambda tmp: image.save(tmp, format='PNG'))
        lines.append(f'{relative} {label}')
    return lines


def _write_lines(path: str, lines: Sequence[str]) -> None:
    write_text_atomically(path, '\n'.join(lines) + '\n')


def write_labelled_folder(root: str, settings: dict, train_images: ImageMaker,
                          train_labels: np.ndarray, test_images: ImageMaker,
                          test_labels: np.ndarray, shots: int = 10,
                          shot_seeds: Sequence[int] = (0, 1, 2)) -> Dict[str, str]:
    """Writes a split under ``root`` (see the module docstring). Files already there are kept,
    and a folder written with other settings is refused.

    Args:
        root (str): The folder.
        settings (dict): What the images depend on; stored, and compared on a later call.
        train_images (Callable[[int], PIL.Image]): Training image ``i``.
        train_labels (ndarray): (M, ) class indices.
        test_images (Callable[[int], PIL.Image]): Held-out image ``i``.
        test_labels (ndarray): (T, ) class indices.
        shots (int): Images per class of the few-label subsets.
        shot_seeds (Sequence[int]): One few-label subset per seed.

    Returns:
        dict: ``train`` and ``test`` folders, and ``meta`` (the annotation folder).

    Raises:
        InvalidInputError: ``root`` holds a folder written with other settings.
    """
    settings = dict(settings, shots=shots, shot_seeds=list(shot_seeds))
    meta = osp.join(root, 'meta')
    settings_path = osp.join(meta, 'settings.json')
    if osp.isfile(settings_path):
        with open(settings_path) as f:
            found = json.load(f)
        if found != settings:
            raise InvalidInputError(f'{root} holds images written with {found}, not {settings}; '
                                    'remove it or choose another folder')
    os.makedirs(meta, exist_ok=True)
    train_lines = _write_split(root, 'train', train_images, train_labels)
    _write_lines(osp.join(meta, 'train.txt'), train_lines)
    _write_lines(osp.join(meta, 'test.txt'), _write_split(root, 'test', test_images, test_labels))
    for shot_seed in shot_seeds:
        rng = np.random.default_rng(shot_seed)
        chosen = [i for label in np.unique(train_labels)
                  for i in rng.choice(np.flatnonzero(train_labels == label), shots,
                                      replace=False)]
        _write_lines(osp.join(meta, f'train_{shots}shot_seed{shot_seed}.txt'),
                     [train_lines[i] for i in sorted(chosen)])
    _write_lines(settings_path, [json.dumps(settings)])
    return dict(train=osp.join(root, 'train'), test=osp.join(root, 'test'), meta=meta)
