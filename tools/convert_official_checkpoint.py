"""Converts checkpoints between the official ADDP layout and this project's.

Examples:
    # official pretraining -> MMEngine checkpoint of ``ADDP`` (frozen parts left out)
    python tools/convert_official_checkpoint.py addp-vit-base-16.pth addp_vit_base.pth \
        --kind pretrain
    # official fine-tuned ViT -> mmpretrain ImageClassifier
    python tools/convert_official_checkpoint.py official_ft.pth addp_vit_base_ft.pth \
        --kind classifier
    # back to the official layout; frozen parts from their own files
    python tools/convert_official_checkpoint.py epoch_1600.pth official.pth --kind pretrain \
        --to-official --vqgan data/pretrained/vqgan_jax_strongaug.ckpt \
        --token-predictor data/pretrained/mage-vitb-1600.pth
    # a trained tokenizer or token predictor -> the layout of the released VQGAN / MAGE file
    python tools/convert_official_checkpoint.py work_dirs/vqgan/iter_800.pth vqgan.ckpt \
        --kind tokenizer --to-official
"""
import argparse
import os.path as osp

import torch

from addp.checkpoint import (
    convert_classifier_to_official,
    convert_official_classifier,
    convert_official_pretrain,
    convert_to_official_pretrain,
    export_released_part,
    extract_state_dict,
    is_official_pretrain,
    read_checkpoint,
)
from addp.cli import run_tool
from addp.errors import CheckpointKeyError, InvalidInputError
from addp.fileio import write_atomically
from addp.models import ADDP


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Convert ADDP checkpoints')
    parser.add_argument('src', help='checkpoint to convert')
    parser.add_argument('dst', help='file to write')
    parser.add_argument('--kind', required=True,
                        choices=['pretrain', 'classifier', 'tokenizer', 'token_predictor'])
    parser.add_argument('--to-official', action='store_true',
                        help='write the official layout instead of reading it')
    parser.add_argument('--vqgan', help='tokenizer file to include with --to-official')
    parser.add_argument('--token-predictor', help='MAGE file to include with --to-official')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing dst')
    return parser.parse_args(argv)


def _frozen_weights(vqgan: str, token_predictor: str) -> dict:
    frozen = {}
    for prefix, path, inner in (('tokenizer.', vqgan, ('vqgan.', '')),
                                ('token_predictor.', token_predictor, ('token_predictor.', ''))):
        state_dict = extract_state_dict(read_checkpoint(path))
        for key, value in state_dict.items():
            if key.startswith(inner[0]):
                key = key[len(inner[0]):]
            if prefix == 'token_predictor.' and key.startswith('vqgan.'):
                continue
            frozen[prefix + key] = value
    return frozen


def convert(args) -> dict:
    state_dict = extract_state_dict(read_checkpoint(args.src))
    if args.kind in ('tokenizer', 'token_predictor'):
        if not args.to_official:
            raise InvalidInputError(f'--kind {args.kind} writes the released layout: pass '
                                    '--to-official (released files load as they are)')
        try:
            return export_released_part(state_dict, args.kind)
        except CheckpointKeyError as err:
            raise CheckpointKeyError(f'{args.src}: {err}') from err
    if args.kind == 'classifier':
        if args.to_official:
            return {'model': convert_classifier_to_official(state_dict)}
        return {'state_dict': convert_official_classifier(state_dict)}
    if not args.to_official:
        if not is_official_pretrain(state_dict):
            raise InvalidInputError(f'{args.src} does not use the official pretraining names; '
                                    'pass --to-official to convert one of this project\'s '
                                    'checkpoints')
        converted = convert_official_pretrain(state_dict)
        # The frozen parts are loaded from their own files when the model is built.
        return {'state_dict': ADDP.without_frozen_parts(converted)}
    has_frozen = any(ADDP.is_frozen_key(k) for k in state_dict)
    if not has_frozen and not (args.vqgan and args.token_predictor):
        raise InvalidInputError(f'{args.src} holds no tokenizer or token predictor; pass '
                                '--vqgan and --token-predictor so that the official file is '
                                'complete')
    frozen = None if has_frozen else _frozen_weights(args.vqgan, args.token_predictor)
    return {'model': convert_to_official_pretrain(state_dict, frozen)}


def main(argv=None) -> int:
    args = parse_args(argv)
    if osp.exists(args.dst) and not args.overwrite:
        raise InvalidInputError(f'{args.dst} exists; pass --overwrite to replace it')
    converted = convert(args)
    write_atomically(args.dst, lambda tmp: torch.save(converted, tmp))
    state = extract_state_dict(converted)
    print(f'wrote {args.dst}: {len(state)} tensors, '
          f'{sum(v.numel() for v in state.values()):,} values')
    return 0


if __name__ == '__main__':
    run_tool(main)
