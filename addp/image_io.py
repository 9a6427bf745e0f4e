"""Reading images to a model's size and writing results whole or not at all."""
import json
import os.path as osp
from typing import Any, Sequence

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from addp.errors import InputNotFoundError, InvalidInputError
from addp.fileio import write_atomically

InterpolationMode = TF.InterpolationMode
# The ImageNet channel statistics of pixels in [0, 1], which the encoders normalise with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalize(pixels: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) pixels in [0, 1], normalised by the ImageNet mean and std."""
    mean = pixels.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = pixels.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (pixels - mean) / std


def save_png(image: np.ndarray, path: str) -> None:
    """Saves an (H, W, 3) or (H, W) uint8 array as a lossless PNG, atomically."""
    write_atomically(path, lambda tmp: Image.fromarray(image).save(tmp, format='PNG'))


def save_json(obj: Any, path: str) -> None:
    """Saves ``obj`` as indented JSON, atomically."""
    def dump(tmp: str) -> None:
        with open(tmp, 'w') as file:
            json.dump(obj, file, indent=2, sort_keys=True)

    write_atomically(path, dump)


def to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """Pixels (B, 3, H, W) nominally in [0, 1] to (B, H, W, 3) uint8.

    Values are truncated, not rounded, as the released sampler saved them, so that FID is
    measured on the same pixels.
    """
    pixels = (pixels.detach().float().cpu() * 255.).clamp(0., 255.)
    return pixels.to(torch.uint8).permute(0, 2, 3, 1).numpy()


def resize_center_crop(image: Image.Image, size: Sequence[int],
                       interpolation: InterpolationMode = InterpolationMode.BICUBIC
                       ) -> Image.Image:
    """Scales ``image`` to cover ``size`` (H, W), keeping its aspect ratio, then crops the
    center.

    Args:
        image (PIL.Image): Any size.
        size (Sequence[int]): Target (H, W).
        interpolation (InterpolationMode): ``NEAREST`` for masks.

    Returns:
        PIL.Image: Exactly (H, W).
    """
    height, width = size
    scale = max(height / image.height, width / image.width)
    scaled = (max(height, round(image.height * scale)), max(width, round(image.width * scale)))
    return TF.center_crop(TF.resize(image, list(scaled), interpolation), [height, width])


def read_rgb(path: str) -> Image.Image:
    """Opens an image file as RGB with an error that names the file."""
    if not osp.isfile(path):
        raise InputNotFoundError(f'image file not found: {path!r}')
    try:
        with Image.open(path) as image:
            return image.convert('RGB')
    except OSError as err:
        raise InvalidInputError(f'could not read {path!r} as an image ({err})') from err


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """An RGB PIL image to a (1, 3, H, W) float tensor in [0, 1]."""
    return TF.to_tensor(image).unsqueeze(0)
