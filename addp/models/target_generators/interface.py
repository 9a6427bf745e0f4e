"""The token interface that a tokenizer and a token predictor must share.

A token predictor only makes sense on the codes of the tokenizer it was trained with: the same
codebook size and the same grid of tokens per image. This reads both from the checkpoint files
when given (else from the configs) and refuses a mismatch before anything trains.
"""
import inspect
import re
from typing import NamedTuple, Sequence, Union

from addp.checkpoint import extract_state_dict, read_checkpoint
from addp.errors import InvalidInputError
from addp.registry import MODELS

from .vqgan_tokenizer import downsample_factor


class TokenInterfaceError(InvalidInputError):
    """A tokenizer and a token predictor (or a decoder) disagree on codes or grid."""


class TokenInterface(NamedTuple):
    codebook_size: int
    num_tokens: int  # per image
    source: str


def config_value(cfg: dict, name: str):
    """``cfg[name]``, else the default of that argument of the registered ``cfg['type']``."""
    if name in cfg:
        return cfg[name]
    return inspect.signature(MODELS.get(cfg['type'])).parameters[name].default


def _find(state_dict: dict, suffix: str, path: str):
    for key, value in state_dict.items():
        if key.endswith(suffix):
            return key[:-len(suffix)], value
    raise TokenInterfaceError(f'{path} has no {suffix!r}: is it the right kind of checkpoint?')


def _num_tokens(image_size: Union[int, Sequence[int]], factor: int) -> int:
    height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
    return (height // factor) * (width // factor)


def tokenizer_interface(cfg: dict, image_size: Union[int, Sequence[int]]) -> TokenInterface:
    """Codebook size and tokens per ``image_size`` image of a ``VQGANTokenizer`` config."""
    path = cfg.get('checkpoint')
    if path is None:
        factor = downsample_factor(len(config_value(cfg, 'ch_mult')))
        return TokenInterface(config_value(cfg, 'codebook_size'), _num_tokens(image_size, factor),
                              'the tokenizer config')
    state_dict = extract_state_dict(read_checkpoint(path, mmap=True))
    prefix, codebook = _find(state_dict, 'quantize.embedding.weight', path)
    pattern = re.compile(re.escape(prefix) + r'encoder\.down\.(\d+)\.')
    levels = {m.group(1) for m in map(pattern.match, state_dict) if m}
    factor = downsample_factor(len(levels))
    return TokenInterface(codebook.shape[0], _num_tokens(image_size, factor), f'tokenizer {path}')


def token_predictor_interface(cfg: dict) -> TokenInterface:
    """Codebook size and token count of a ``MAGETokenPredictor`` config."""
    path = cfg.get('checkpoint')
    num_classes = config_value(cfg, 'num_classes')
    if path is None:
        return TokenInterface(config_value(cfg, 'codebook_size'), config_value(cfg, 'num_patches'),
                              'the token predictor config')
    state_dict = extract_state_dict(read_checkpoint(path, mmap=True))
    _, words = _find(state_dict, 'token_emb.word_embeddings.weight', path)
    _, positions = _find(state_dict, 'token_emb.position_embeddings.weight', path)
    # The vocabulary is codes, then classes, then the mask token.
    return TokenInterface(words.shape[0] - num_classes - 1, positions.shape[0] - 1,
                          f'token predictor {path}')


def decoder_interface(cfg: dict) -> TokenInterface:
    """Codebook size and token count that an ``ADDPDecoder`` config is built for."""
    return TokenInterface(config_value(cfg, 'codebook_size'), config_value(cfg, 'num_patches'),
                          'the decoder config (model.neck)')


def check_token_interface(first: TokenInterface, second: TokenInterface, fix: str) -> None:
    """Raises :class:`TokenInterfaceError` naming both sides and their values.

    Args:
        fix (str): What to do about it, appended to the message.
    """
    problems = []
    if first.codebook_size != second.codebook_size:
        problems.append(f'codebook size {first.codebook_size} vs {second.codebook_size}')
    if first.num_tokens != second.num_tokens:
        problems.append(f'tokens per image {first.num_tokens} vs {second.num_tokens}')
    if problems:
        raise TokenInterfaceError(f'{first.source} and {second.source} do not fit: '
                                  f'{"; ".join(problems)}. {fix}')
