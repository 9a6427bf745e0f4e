"""The layout of a sampling run's output folder and the checks that keep it consistent.

::

    OUT/
      images/000000.png ...   one lossless PNG per image, named by its global index
      grid.png                the first images side by side
      input.png               editing only: the input at the model's size, generated part dimmed
      settings.json           what the images depend on ("sample") and how they were run ("run")
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid

from addp.errors import InvalidInputError
from addp.image_io import save_json, save_png, to_uint8

IMAGES_DIR = 'images'
GRID_FILE = 'grid.png'
INPUT_FILE = 'input.png'
SETTINGS_FILE = 'settings.json'


def image_path(out_dir: str, index: int) -> str:
    """Where image ``index`` goes."""
    return osp.join(out_dir, IMAGES_DIR, f'{index:06d}.png')


def shard_indices(num_images: int, rank: int, world_size: int) -> List[int]:
    """The indices process ``rank`` of ``world_size`` owns; shards are disjoint and cover all."""
    return list(range(rank, num_images, world_size))


def missing_indices(out_dir: str, indices: List[int]) -> List[int]:
    """The ``indices`` whose PNG is not written yet (files are written whole or not at all)."""
    return [i for i in indices if not osp.exists(image_path(out_dir, i))]


def _json_roundtrip(obj):
    return json.loads(json.dumps(obj, sort_keys=True))


def check_output_folder(out_dir: str, settings: Dict) -> None:
    """Refuses a folder whose images came from other settings; a resumed run must add images
    of the same kind only.

    Args:
        out_dir (str): The run's folder, possibly from an earlier run.
        settings (dict): ``sample`` (what the images depend on) and ``run`` entries.

    Raises:
        ValueError: Naming the settings that differ, or the unknown images found.
    """
    settings_path = osp.join(out_dir, SETTINGS_FILE)
    images_dir = osp.join(out_dir, IMAGES_DIR)
    if not osp.isfile(settings_path):
        if osp.isdir(images_dir) and any(f.endswith('.png') for f in os.listdir(images_dir)):
            raise InvalidInputError(f'{images_dir} already holds PNG files but {settings_path} is '
                                    'missing, so they cannot be resumed; choose another --out')
        return
    with open(settings_path) as file:
        earlier = json.load(file).get('sample', {})
    now = _json_roundtrip(settings['sample'])
    differing = sorted(k for k in set(earlier) | set(now) if earlier.get(k) != now.get(k))
    if differing:
        details = '; '.join(f'{k}: {earlier.get(k)!r} then, {now.get(k)!r} now'
                            for k in differing)
        raise InvalidInputError(f'{out_dir} holds images sampled with other settings ({details}). '
                                'Resume with the same arguments, or choose another --out.')


def prepare_output_folder(out_dir: str, settings: Dict,
                          input_preview: Optional[torch.Tensor] = None) -> None:
    """Creates the folder and records the settings before any image is written.

    Args:
        out_dir (str): The run's folder.
        settings (dict): Written to ``settings.json``.
        input_preview (Tensor, optional): (1, 3, H, W) editing input, saved as ``input.png``.
    """
    os.makedirs(osp.join(out_dir, IMAGES_DIR), exist_ok=True)
    save_json(settings, osp.join(out_dir, SETTINGS_FILE))
    if input_preview is not None:
        save_png(to_uint8(input_preview)[0], osp.join(out_dir, INPUT_FILE))


def save_grid(out_dir: str, num_images: int, max_images: int = 64) -> Optional[str]:
    """Tiles the first ``max_images`` written images into ``grid.png``.

    Returns:
        str | None: The grid's path, or None when no image exists yet.
    """
    paths = [image_path(out_dir, i) for i in range(min(num_images, max_images))]
    paths = [p for p in paths if osp.exists(p)]
    if not paths:
        return None
    images = [torch.from_numpy(np.array(Image.open(p).convert('RGB'))).permute(2, 0, 1)
              for p in paths]
    grid = make_grid(torch.stack(images), nrow=math.ceil(math.sqrt(len(images))), padding=2)
    grid_path = osp.join(out_dir, GRID_FILE)
    save_png(grid.permute(1, 2, 0).numpy(), grid_path)
    return grid_path
