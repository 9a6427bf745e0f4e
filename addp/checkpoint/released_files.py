"""The released file layouts of the frozen parts, and writing files in them."""
import os.path as osp
from typing import Dict, Mapping

import torch

from addp.errors import CheckpointKeyError
from addp.fileio import write_atomically

# Where a trained part sits in a training checkpoint, and the container of its released file:
# the VQGAN file is a bare state dict, a MAGE file holds it under "model".
RELEASED_PART_LAYOUTS = {'tokenizer': ('tokenizer.', None), 'token_predictor':
                         ('token_predictor.', 'model')}


def export_released_part(state_dict: Mapping[str, torch.Tensor], part: str) -> dict:
    """A trained tokenizer or token predictor in the layout of its released file.

    Args:
        state_dict (Mapping): Of a ``VQGAN`` or ``MAGE`` training checkpoint (or of ``ADDP``).
        part (str): ``'tokenizer'`` (``vqgan_jax_strongaug.ckpt`` layout) or
            ``'token_predictor'`` (``mage-vit*-1600.pth`` layout).

    Raises:
        KeyError: The state dict holds no such part.
    """
    prefix = RELEASED_PART_LAYOUTS[part][0]
    weights = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not weights:
        raise CheckpointKeyError(f'no {part} weights (keys under {prefix!r}) in this checkpoint')
    return released_layout(part, weights)


def released_layout(part: str, weights: Mapping[str, torch.Tensor]) -> dict:
    """A part's own weights (no prefix) in the container of its released file."""
    container = RELEASED_PART_LAYOUTS[part][1]
    return {container: weights} if container else weights


def write_released_files(checkpoints: Mapping, out_dir: str) -> Dict[str, str]:
    """Splits official files into the files the authors released.

    Args:
        checkpoints (Mapping): ``addp_pretrain``, an official pretraining file (``{'model'}``,
            holding ``vqgan.`` and ``token_predictor.``), and ``classifier``, an official
            fine-tuned file; as a parity file (``addp-official-golden/1``) stores them.
        out_dir (str): Where to write.

    Returns:
        dict: ``vqgan`` (bare state dict), ``mage`` and ``addp`` (under ``model``) and
        ``classifier`` file paths.
    """
    official = checkpoints['addp_pretrain']['model']
    # The official file's prefixes of the two parts.
    parts = dict(vqgan=('tokenizer', 'vqgan.'), mage=('token_predictor', 'token_predictor.'))
    paths = dict(vqgan=osp.join(out_dir, 'vqgan_jax_strongaug.ckpt'),
                 mage=osp.join(out_dir, 'mage.pth'), addp=osp.join(out_dir, 'addp.pth'),
                 classifier=osp.join(out_dir, 'classifier.pth'))
    contents = dict(addp=checkpoints['addp_pretrain'], classifier=checkpoints['classifier'])
    for name, (part, prefix) in parts.items():
        weights = {k[len(prefix):]: v for k, v in official.items() if k.startswith(prefix)}
        contents[name] = released_layout(part, weights)
    for name, content in contents.items():
        write_atomically(paths[name], lambda tmp, content=content: torch.save(content, tmp))
    return paths
