"""Mask schedules of iterative decoding: how many tokens stay masked after each step."""
import math
from typing import Union

import torch

from addp.errors import InvalidInputError

MASK_SCHEDULES = ('cosine', 'linear')


def mask_ratio_at(step_ratio: float, schedule: str = 'cosine') -> float:
    """Fraction of the initially unknown tokens still masked at ``step_ratio`` in [0, 1]."""
    if schedule == 'cosine':
        return math.cos(math.pi / 2. * step_ratio)
    if schedule == 'linear':
        return 1. - step_ratio
    raise InvalidInputError(f'unknown mask schedule {schedule!r}; choose one of {MASK_SCHEDULES}')


def num_masked_after_step(step: int, num_steps: int, num_unknown: Union[int, torch.Tensor],
                          num_masked_now: Union[int, torch.Tensor],
                          schedule: str = 'cosine') -> Union[int, torch.Tensor]:
    """Per-sample count of tokens that stay masked after ``step`` (0-based).

    ``ceil(num_unknown * ratio)`` as released, at least one while anything is masked (so the
    final step still decodes one soft position, as the official sampler does), and never more
    than are masked now: known tokens are never masked again. Host integers give a host
    integer, computed in the same double precision as the tensors.

    Args:
        step (int): The step just taken.
        num_steps (int): Total steps.
        num_unknown (int | Tensor): Tokens masked at the start, one count or (B,).
        num_masked_now (int | Tensor): Tokens masked before this step, one count or (B,).
        schedule (str): ``'cosine'`` or ``'linear'``.

    Returns:
        int | Tensor: An int for int inputs, else (B,) int64 counts.
    """
    ratio = mask_ratio_at((step + 1) / num_steps, schedule)
    if isinstance(num_unknown, int) and isinstance(num_masked_now, int):
        return min(max(math.ceil(num_unknown * ratio), 1), num_masked_now)
    counts = torch.ceil(torch.as_tensor(num_unknown).double() * ratio).long()
    return torch.minimum(counts.clamp(min=1), torch.as_tensor(num_masked_now))
