"""A fixed-seed share of a folder held out for validation: which file falls in it."""
import hashlib
from typing import Optional, Tuple

from addp.errors import InvalidInputError

HOLDOUT_PARTS = ('train', 'val')
HOLDOUT_KEYS = ('fraction', 'seed', 'part')


def parse_holdout(holdout: Optional[dict]) -> Optional[Tuple[float, int, str]]:
    """(fraction, seed, part) of a ``holdout`` dict, or None without one.

    Raises:
        InvalidInputError: Unknown keys, ``fraction`` outside (0, 1), a seed that is not an
            integer or ``part`` other than ``'train'`` or ``'val'``.
    """
    if holdout is None:
        return None
    example = "e.g. holdout=dict(fraction=0.1, seed=0, part='val')"
    if not isinstance(holdout, dict):
        raise InvalidInputError(f'holdout must be a dict, {example}; got {holdout!r}')
    unknown = sorted(set(holdout) - set(HOLDOUT_KEYS), key=str)
    if unknown:
        raise InvalidInputError(f'holdout has unknown keys {unknown}; use fraction, seed and '
                                f'part, {example}')
    fraction, seed, part = holdout.get('fraction'), holdout.get('seed', 0), holdout.get('part')
    if (isinstance(fraction, bool) or not isinstance(fraction, (int, float))
            or not 0 < fraction < 1):
        raise InvalidInputError(f'holdout fraction must lie strictly between 0 and 1, got '
                                f'{fraction!r}; {example}')
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidInputError(f'holdout seed must be an integer, got {seed!r}; {example}')
    if part not in HOLDOUT_PARTS:
        raise InvalidInputError(f"holdout part must be 'train' or 'val', got {part!r}; "
                                f'{example}')
    return float(fraction), seed, part


def in_holdout(relative_path: str, fraction: float, seed: int) -> bool:
    """Whether a file falls in the held-out part: a hash of (seed, relative path) alone
    decides, so that no listing order, other file or annotation subset changes it."""
    digest = hashlib.sha1(f'{seed}:{relative_path}'.encode()).digest()
    return int.from_bytes(digest[:8], 'big') / 2**64 < fraction
