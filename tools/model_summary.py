"""Prints the parameter count of each part of an ADDP model config.

Usage:
    python tools/model_summary.py configs/_base_/models/addp_vit_large.py

The model is built on PyTorch's meta device: no memory for weights and no checkpoint files are
needed.
"""
import argparse
from typing import Dict

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import addp.models  # noqa: F401  (registers the modules)
from addp.cli import run_tool
from addp.models.algorithms import FrozenPartsModel
from addp.registry import MODELS


def count_parameters(cfg: Config) -> Dict[str, int]:
    """Parameters per top-level part of ``cfg.model``, built without weights or files."""
    model_cfg = cfg.model.copy()
    model_cls = MODELS.get(model_cfg.type)
    if issubclass(model_cls, FrozenPartsModel):
        model_cfg = model_cls.config_without_frozen_files(model_cfg)
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    counts = {name: sum(p.numel() for p in part.parameters())
              for name, part in model.named_children()}
    counts['trainable'] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='Parameter counts of an ADDP config')
    parser.add_argument('config')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'addp'))
    counts = count_parameters(cfg)
    width = max(map(len, counts))
    for name, count in counts.items():
        print(f'{name:<{width}}  {count:>13,}')
    return 0


if __name__ == '__main__':
    run_tool(main)
