"""Loading state dicts with a clear account of every key."""
import re
from typing import Dict, Iterable, List, Mapping, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log

from addp.errors import CheckpointKeyError

from .io import read_checkpoint


def extract_state_dict(checkpoint: Mapping) -> Dict[str, torch.Tensor]:
    """Returns the state dict inside an MMEngine (``state_dict``), official (``model``) or bare
    checkpoint."""
    if not isinstance(checkpoint, Mapping):
        raise CheckpointKeyError(f'expected a dict checkpoint, got {type(checkpoint).__name__}')
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), Mapping):
            return dict(checkpoint[key])
    if checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return dict(checkpoint)
    raise CheckpointKeyError(
        'no state dict found: expected a "state_dict" or "model" entry or a bare dict of '
        f'tensors; top-level keys are {sorted(checkpoint)[:10]}')


def _matches_any(key: str, patterns: Iterable[str]) -> bool:
    return any(re.fullmatch(p, key) for p in patterns)


def load_state_dict_checked(module: nn.Module,
                            state_dict: Mapping[str, torch.Tensor],
                            source: str,
                            strict: bool = True,
                            ignored_keys: Iterable[str] = (),
                            allowed_missing: Iterable[str] = ()) -> Tuple[List[str], List[str]]:
    """Loads ``state_dict`` into ``module`` after checking shapes and keys.

    Args:
        module (nn.Module): The destination.
        state_dict (Mapping): Parameters by name, already in the module's naming.
        source (str): What the weights are, for messages (usually the file path).
        strict (bool): Raise on missing or unexpected keys beyond the allowed ones.
        ignored_keys (Iterable[str]): Regexes of checkpoint keys dropped on purpose; they are
            named in the log.
        allowed_missing (Iterable[str]): Regexes of module keys that may stay as initialised.

    Returns:
        tuple: The missing and the unexpected keys, after the allowances.

    Raises:
        CheckpointKeyError: On any shape mismatch (always) and, when ``strict``, on keys.
    """
    own = module.state_dict()
    mismatched = [
        f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
        for k, v in state_dict.items() if k in own and tuple(v.shape) != tuple(own[k].shape)
    ]
    if mismatched:
        raise CheckpointKeyError(
            f'shape mismatch loading {source} into {type(module).__name__} (is the '
            'architecture in the config the one the checkpoint was trained with?):\n  ' +
            '\n  '.join(mismatched))
    ignored = sorted(k for k in state_dict if k not in own and _matches_any(k, ignored_keys))
    unexpected = sorted(k for k in state_dict if k not in own and k not in ignored)
    missing = sorted(
        k for k in own if k not in state_dict and not _matches_any(k, allowed_missing))
    if strict and (missing or unexpected):
        raise CheckpointKeyError(
            f'{source} does not fit {type(module).__name__}:\n'
            f'  missing keys ({len(missing)}): {missing[:20]}\n'
            f'  unexpected keys ({len(unexpected)}): {unexpected[:20]}')
    module.load_state_dict({k: v for k, v in state_dict.items() if k in own}, strict=False)
    if ignored:
        print_log(f'{type(module).__name__}: dropped {len(ignored)} keys of {source} that it does '
                  f'not use: {_summarise_keys(ignored)}', 'current')
    if missing or unexpected:
        print_log(f'{type(module).__name__} loaded {source} with missing keys {missing} and '
                  f'unexpected keys {unexpected}', 'current', level=30)
    return missing, unexpected


def _summarise_keys(keys: Iterable[str]) -> str:
    """Names every part a list of keys covers, e.g. ``decoder_blocks.* (96), mask_token``."""
    counts: Dict[str, int] = {}
    for key in keys:
        part = key.split('.')[0] + ('.*' if '.' in key else '')
        counts[part] = counts.get(part, 0) + 1
    return ', '.join(p if n == 1 and not p.endswith('*') else f'{p} ({n})'
                     for p, n in sorted(counts.items()))


def _best_prefix(own_keys: Iterable[str], ckpt_keys: Iterable[str],
                 prefixes: Iterable[str]) -> str:
    own_keys, ckpt_keys = list(own_keys), set(ckpt_keys)
    hits = {p: sum(p + k in ckpt_keys for k in own_keys) for p in prefixes}
    return max(hits, key=hits.get)


def load_frozen_checkpoint(module: nn.Module, path: str) -> None:
    """Loads a frozen part (tokenizer, token predictor) from its own file.

    The file may hold the part alone, or a whole model that contains it under one of the
    module's ``checkpoint_prefixes`` (e.g. ``vqgan.`` in an official ADDP checkpoint).
    Every key of the module must be found; keys the module has no use for must match its
    ``ignored_checkpoint_keys``.
    """
    state_dict = extract_state_dict(read_checkpoint(path))
    prefix = _best_prefix(module.state_dict(), state_dict, module.checkpoint_prefixes)
    if prefix:
        state_dict = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    load_state_dict_checked(
        module, state_dict, source=path, strict=True,
        ignored_keys=getattr(module, 'ignored_checkpoint_keys', ()))
