"""Per-row token counts of a mask, which size the gathers of the decoders."""
import torch

from addp.errors import InvalidInputError


def count_per_row(mask: torch.Tensor, what: str = 'mask') -> int:
    """The number of true entries in every row of ``mask`` (B, N), which must be the same.

    Reads the mask back from the device, so on a GPU it waits for every queued kernel; a step
    whose caller knows the count on the host passes it on instead.

    Args:
        mask (Tensor): (B, N) bool.
        what (str): What the mask marks, for the message (``'mask'`` or ``'drop'``).
    """
    counts = mask.bool().sum(dim=1)
    if (counts != counts[0]).any():
        raise InvalidInputError(f'every sample of a batch must {what} the same number of tokens; '
                                f'got counts {counts.tolist()}')
    return int(counts[0])
