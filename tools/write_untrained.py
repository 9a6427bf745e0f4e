"""Writes the untrained counterpart of an ADDP config: the floor that training is measured by.

    python tools/write_untrained.py configs/digits/addp_tiny_digits.py OUT_DIR [--seed 0]

OUT_DIR/tokenizer.ckpt is a randomly initialised tokenizer in the released VQGAN layout and
OUT_DIR/addp.pth a randomly initialised ADDP (encoder and decoder). Sample from them with
    python tools/generate.py CONFIG OUT_DIR/addp.pth --out DIR --num-images N \
        --cfg-options model.tokenizer.checkpoint=OUT_DIR/tokenizer.ckpt
"""
import argparse
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from addp.checkpoint import released_layout
from addp.cli import run_tool
from addp.fileio import write_atomically
from addp.models import ADDP
from addp.registry import MODELS


def write_untrained(config: str, out_dir: str, seed: int = 0) -> dict:
    """Builds the config's ADDP with random weights and writes its two files.

    Returns:
        dict: ``tokenizer`` and ``addp`` file paths.
    """
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'addp'))
    model_cfg = ADDP.inference_config(ADDP.config_without_frozen_files(cfg.model))
    torch.manual_seed(seed)
    tokenizer = MODELS.build(dict(model_cfg.tokenizer, frozen=False))
    tokenizer.init_weights()
    model = MODELS.build(model_cfg)
    model.init_weights()
    paths = dict(tokenizer=osp.join(out_dir, 'tokenizer.ckpt'), addp=osp.join(out_dir, 'addp.pth'))
    tokenizer_file = released_layout('tokenizer', tokenizer.state_dict())
    write_atomically(paths['tokenizer'], lambda tmp: torch.save(tokenizer_file, tmp))
    write_atomically(paths['addp'], lambda tmp: torch.save({'state_dict': model.state_dict()}, tmp))
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='an ADDP config')
    parser.add_argument('out_dir', help='folder for tokenizer.ckpt and addp.pth')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    paths = write_untrained(args.config, args.out_dir, args.seed)
    print(f'untrained weights: {paths["tokenizer"]}, {paths["addp"]}')
    return 0


if __name__ == '__main__':
    run_tool(main)
