"""Randomly initialised tokenizer and token-predictor files in the released layouts.

They let a config with frozen parts run where the released files are absent: the smoke run and the
tests. They are stand-ins, not trained models.
"""
import os.path as osp
from typing import Dict

import torch

from addp.checkpoint import released_layout
from addp.fileio import write_atomically
from addp.registry import MODELS


def write_frozen_stand_ins(tokenizer: dict, token_predictor: dict, seed: int = 0,
                           overwrite: bool = False) -> Dict[str, str]:
    """Writes random weights to the ``checkpoint`` paths of the two frozen-part configs.

    The tokenizer file is laid out like ``vqgan_jax_strongaug.ckpt`` (bare), the token
    predictor like ``mage-vit*-1600.pth`` (``{'model'}``). Files that exist are kept unless
    ``overwrite``; parallel callers (ranks) may run this at once.

    Args:
        tokenizer (dict): A ``VQGANTokenizer`` config with its ``checkpoint`` path.
        token_predictor (dict): A ``MAGETokenPredictor`` config with its ``checkpoint`` path.
        seed (int): Seeds the weights.
        overwrite (bool): Write even where the files exist.

    Returns:
        dict: ``vqgan`` and ``mage`` file paths.
    """
    paths = dict(vqgan=tokenizer['checkpoint'], mage=token_predictor['checkpoint'])
    if not overwrite and all(osp.isfile(p) for p in paths.values()):
        return paths
    torch.manual_seed(seed)
    vqgan = MODELS.build(dict(tokenizer, checkpoint=None))
    # Spread the codebook like trained codes so that tokens vary with the image.
    torch.nn.init.normal_(vqgan.quantize.embedding.weight, std=0.5)
    mage = MODELS.build(dict(token_predictor, checkpoint=None))
    for module in mage.modules():
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, std=0.02)
    for path, content in ((paths['vqgan'], released_layout('tokenizer', vqgan.state_dict())),
                          (paths['mage'], released_layout('token_predictor', mage.state_dict()))):
        write_atomically(path, lambda tmp, content=content: torch.save(content, tmp))
    return paths
