"""Tiny ADDP models for tests and examples, sized by ``configs/_base_/models/addp_vit_tiny.py``."""
import copy
import os.path as osp
from typing import Dict, Optional

from mmengine.config import Config

from addp.models.target_generators.stand_ins import write_frozen_stand_ins

TINY_CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', '_base_',
                       'models', 'addp_vit_tiny.py')
_TINY_MODEL = Config.fromfile(TINY_CONFIG).model.to_dict()


def _without_checkpoint(part: dict) -> dict:
    return {k: v for k, v in part.items() if k != 'checkpoint'}


# The frozen parts of the tiny config, without their files.
TINY_VQGAN = _without_checkpoint(_TINY_MODEL['tokenizer'])
TINY_MAGE = _without_checkpoint(_TINY_MODEL['token_predictor'])


def make_tiny_frozen_checkpoints(out_dir: str, seed: int = 0,
                                 overwrite: bool = False) -> Dict[str, str]:
    """Writes stand-ins for the tiny config's tokenizer and token predictor into ``out_dir``.

    Returns:
        dict: ``vqgan`` and ``mage`` file paths.
    """
    return write_frozen_stand_ins(
        dict(TINY_VQGAN, checkpoint=osp.join(out_dir, 'tiny_vqgan.ckpt')),
        dict(TINY_MAGE, checkpoint=osp.join(out_dir, 'tiny_mage.pth')), seed, overwrite)


def tiny_addp_cfg(vqgan_checkpoint: Optional[str], mage_checkpoint: Optional[str]) -> dict:
    """The tiny config's ``ADDP`` (32 px images, an 8 x 8 token grid, 64 codes) reading its
    frozen parts from the given files."""
    model = copy.deepcopy(_TINY_MODEL)
    model['tokenizer']['checkpoint'] = vqgan_checkpoint
    model['token_predictor']['checkpoint'] = mage_checkpoint
    return model
