"""Loading pretrained ADDP weights into a model, whatever format they were saved in."""
from typing import List, Optional

import torch.nn as nn
from mmengine.logging import print_log

from .io import read_checkpoint
from .loading import extract_state_dict, load_state_dict_checked
from .official import OFFICIAL_UNUSED_KEYS, convert_official_pretrain, is_official_pretrain

# Parts of an official pretraining file (flat names) that a downstream backbone has no use
# for; this project's files keep the encoder under ``backbone.`` and are filtered by prefix.
PRETRAIN_ONLY_KEYS = (r'decoder_.*', r'mask_token', r'token_emb\..*', r'mlm_layer\..*',
                      r'vqgan\..*', r'token_predictor\..*', r'tokenizer_norm\..*',
                      r'norm\..*') + tuple(k.replace('.', r'\.') for k in OFFICIAL_UNUSED_KEYS)


def load_backbone_weights(backbone: nn.Module, path: str,
                          prefix: Optional[str] = None) -> List[str]:
    """Loads an ADDP encoder from a pretraining or classification checkpoint.

    Accepts official files (flat names, ``{'model': ...}``) and MMEngine files of this project
    (encoder under ``backbone.``). Pretraining-only parts are dropped and named in the log.
    Shape mismatches raise, except the position embedding, which is interpolated.

    Args:
        backbone (nn.Module): An ``ADDPViT``.
        path (str): The checkpoint file.
        prefix (str, optional): Take only keys under this prefix (stripped). Detected when
            None: ``backbone.`` if present, else none.

    Returns:
        list[str]: The backbone keys the file did not provide.
    """
    state_dict = extract_state_dict(read_checkpoint(path))
    if prefix is None:
        prefix = 'backbone.' if any(k.startswith('backbone.') for k in state_dict) else ''
    if prefix:
        state_dict = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    # Resize a position embedding laid out for another input size before the shape check.
    backbone.resize_checkpoint_pos_embed(state_dict)
    missing, _ = load_state_dict_checked(backbone, state_dict, source=path, strict=False,
                                         ignored_keys=PRETRAIN_ONLY_KEYS)
    return missing


def load_addp_checkpoint(model: nn.Module, path: str, strict: bool = True) -> None:
    """Loads an ADDP pretraining checkpoint (official or this project's) into ``ADDP``.

    The model's frozen parts (``model.frozen_modules``: the tokenizer and token predictor)
    keep the weights they were built with from their own files; copies of them inside the
    checkpoint are not read.
    """
    state_dict = extract_state_dict(read_checkpoint(path))
    if is_official_pretrain(state_dict):
        state_dict = convert_official_pretrain(state_dict)
    kept = model.without_frozen_parts(state_dict)
    if len(kept) != len(state_dict):
        print_log(f'{path}: the frozen parts {model.frozen_modules} come from their own '
                  'checkpoint files; the copies inside this file are not read', 'current')
    trainable = nn.ModuleDict(
        {n: m for n, m in model.named_children() if not model.is_frozen_key(n)})
    load_state_dict_checked(trainable, kept, source=path, strict=strict,
                            ignored_keys=(r'data_preprocessor\..*', ))
