"""Per-row token counts of a mask, which size the gathers of the decoders."""
from typing import Optional

import torch

from addp.errors import InvalidInputError


def shared_row_count(mask: torch.Tensor) -> Optional[int]:
    """The number of true entries of every row of ``mask`` (B, N), or None where rows differ.

    Reads the mask back from the device, so on a GPU it waits for every queued kernel; a step
    whose caller knows the count on the host passes it on instead.
    """
    counts = mask.bool().sum(dim=1)
    return int(counts[0]) if bool((counts == counts[0]).all()) else None


def count_per_row(mask: torch.Tensor, what: str = 'mask') -> int:
    """:func:`shared_row_count`, which must exist.

    Args:
        mask (Tensor): (B, N) bool.
        what (str): What the mask marks, for the message (``'mask'`` or ``'drop'``).
    """
    count = shared_row_count(mask)
    if count is None:
        raise InvalidInputError(f'every sample of a batch must {what} the same number of tokens; '
                                f'got counts {mask.bool().sum(dim=1).tolist()}')
    return count
