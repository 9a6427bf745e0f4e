"""The smoke run's images: small scenes drawn from a seed, so it needs no download."""
import os
import os.path as osp
from typing import List

import numpy as np
from PIL import Image, ImageDraw

from addp.fileio import write_atomically


def draw_smoke_image(index: int, size: int = 64) -> Image.Image:
    """Draws scene ``index``: a two-colour gradient under a few ellipses, boxes and triangles.

    Args:
        index (int): Scene number; the same number always gives the same image.
        size (int): Side length in pixels.

    Returns:
        PIL.Image.Image: An RGB image of ``size`` x ``size``.
    """
    rng = np.random.default_rng(index)
    start, end = rng.integers(0, 256, size=(2, 3))
    ramp = np.linspace(0., 1., size)[:, None, None]
    gradient = start + (end - start) * ramp
    if rng.random() < 0.5:
        gradient = gradient.transpose(1, 0, 2)
    canvas = np.broadcast_to(gradient, (size, size, 3)).astype(np.uint8)
    image = Image.fromarray(np.ascontiguousarray(canvas))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = rng.integers(0, size * 3 // 4, size=2)
        w, h = rng.integers(size // 8, size // 2, size=2)
        box = [int(x0), int(y0), int(x0 + w), int(y0 + h)]
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse(box, fill=colour)
        elif shape == 1:
            draw.rectangle(box, fill=colour)
        else:
            draw.polygon([(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])],
                         fill=colour)
    return image


def write_smoke_images(out_dir: str, num_images: int = 32, size: int = 64) -> List[str]:
    """Writes ``smoke_000.png`` ... into ``out_dir``, keeping the files already there.

    Returns:
        list[str]: The image paths.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for index in range(num_images):
        path = osp.join(out_dir, f'smoke_{index:03d}.png')
        if not osp.isfile(path):
            image = draw_smoke_image(index, size)
            write_atomically(path, lambda tmp: image.save(tmp, format='PNG'))
        paths.append(path)
    return paths
