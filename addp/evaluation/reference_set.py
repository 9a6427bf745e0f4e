"""The ImageNet validation reference set for FID and IS, prepared as MAGE and ADDP did.

Each validation image, in ``ImageFolder`` order, is resized so that its shorter side is 256
(bilinear, torchvision's default), center-cropped to 256 x 256 and saved losslessly as
``{index:05d}.png``.
"""
import os
import os.path as osp
from multiprocessing import Pool
from typing import List, Tuple

import numpy as np
from PIL import Image
from torchvision import transforms
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS

from addp.errors import InputNotFoundError, InvalidInputError
from addp.image_io import save_png
from addp.progress import images_progress


def list_images(src: str) -> List[str]:
    """Image files of ``src``: class sub-folders in ``ImageFolder`` order, else the sorted
    files of a flat folder."""
    if not osp.isdir(src):
        raise InputNotFoundError(f'ImageNet validation folder not found: {src!r}')
    if any(entry.is_dir() for entry in os.scandir(src)):
        return [path for path, _ in ImageFolder(src).samples]
    files = sorted(f for f in os.listdir(src) if f.lower().endswith(IMG_EXTENSIONS))
    if not files:
        raise InvalidInputError(f'{src!r} holds no images and no class folders')
    return [osp.join(src, f) for f in files]


def _center_crop(size: int) -> transforms.Compose:
    return transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size)])


def _prepare_one(job: Tuple[str, str, int]) -> None:
    src_path, out_path, size = job
    with Image.open(src_path) as image:
        image = image.convert('RGB')
    save_png(np.asarray(_center_crop(size)(image)), out_path)


def prepare_reference_set(src: str, out_dir: str, size: int = 256, num_workers: int = 1) -> int:
    """Writes the center-crop PNG reference set; files already written are kept (resumable).

    Args:
        src (str): The validation folder (class sub-folders or flat).
        out_dir (str): Receives ``00000.png`` ...
        size (int): Side of the square crop.
        num_workers (int): Processes that decode and encode images.

    Returns:
        int: Images written by this call.
    """
    paths = list_images(src)
    os.makedirs(out_dir, exist_ok=True)
    jobs = [(path, osp.join(out_dir, f'{i:05d}.png'), size) for i, path in enumerate(paths)]
    jobs = [job for job in jobs if not osp.exists(job[1])]
    with images_progress() as progress:
        task = progress.add_task('reference set', total=len(jobs))
        if num_workers > 1:
            with Pool(num_workers) as pool:
                for _ in pool.imap_unordered(_prepare_one, jobs, chunksize=16):
                    progress.advance(task)
        else:
            for job in jobs:
                _prepare_one(job)
                progress.advance(task)
    return len(jobs)
