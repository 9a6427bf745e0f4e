"""Nested token masks for the two diffusion steps of one ADDP training sample.

The mask ratios are drawn on the host, from torch's CPU stream, and the token counts they give
are host integers, which the models read to size their gathers; the masks themselves are
drawn on the device. Nothing here waits for the device.
"""
import math
from typing import Dict, List, NamedTuple, Optional, Union

import torch
import torch.nn as nn

from addp.errors import InvalidInputError
from addp.host_values import host_value
from addp.registry import MODELS


def random_ranks(batch_size: int, num_tokens: int,
                 generator: Optional[torch.Generator] = None,
                 device: Optional[Union[str, torch.device]] = None) -> torch.Tensor:
    """Each row a random permutation of 0..N-1, as ranks: ``rank < n`` masks n random tokens,
    and masks of growing n are nested. Drawn on ``device`` (with ``generator`` there)."""
    uniform = torch.rand(batch_size, num_tokens, generator=generator, device=device)
    return uniform.argsort(1).argsort(1)


class NestedMasks(NamedTuple):
    """The masks of one ADDP training batch.

    Attributes:
        mask_t (Tensor): (B, N) bool, true where masked at step t.
        mask_next (Tensor): (B, N) bool, the mask of step t+1; contains ``mask_t``.
        mask_ratio (Tensor): 0-d, on the CPU: the ratio of ``mask_t``, for the log.
        num_masked (int): Tokens masked in every row of ``mask_t``.
    """
    mask_t: torch.Tensor
    mask_next: torch.Tensor
    mask_ratio: torch.Tensor
    num_masked: int


class TokenMasks(NamedTuple):
    """The masks of one MAGE training batch.

    Attributes:
        mask (Tensor): (B, N) bool, true where masked.
        drop_mask (Tensor): (B, N) bool, the masked tokens also left out of the encoder input.
        mask_ratio (float): The ratio of ``mask``.
        num_dropped (int): Tokens dropped in every row.
    """
    mask: torch.Tensor
    drop_mask: torch.Tensor
    mask_ratio: float
    num_dropped: int


@MODELS.register_module()
class NestedMaskGenerator(nn.Module):
    """Draws masks m_t inside m_{t+1} as the official pretraining does.

    Mask ratios are the points of a ``num_steps`` cosine schedule that lie in
    ``[ratio_min, ratio_max)``, drawn with weights from a normal density (``mu``, ``std``)
    truncated to that interval. The t+1 ratio sits 1 to ``max_offset`` schedule points further
    along (higher), capped at the last point. One ratio pair is drawn per batch.

    Args:
        num_steps (int): Steps of the cosine schedule. Released: 100.
        ratio_min (float): Lowest mask ratio. Released: 0.5.
        ratio_max (float): Mask ratios stay below this. Released: 1.0.
        mu (float): Mean of the truncated normal. Released: 0.55.
        std (float): Its standard deviation. Released: 0.25.
        max_offset (int): Largest step offset between t and t+1. Released: 5.
    """

    def __init__(self,
                 num_steps: int = 100,
                 ratio_min: float = 0.5,
                 ratio_max: float = 1.0,
                 mu: float = 0.55,
                 std: float = 0.25,
                 max_offset: int = 5) -> None:
        super().__init__()
        # float32 as released, so that ceil(N * ratio) lands on the same counts.
        steps = torch.arange(num_steps + 1, dtype=torch.float32, device='cpu') / num_steps
        ratios = torch.cos(math.pi / 2. * steps).clamp(0., 1.)
        ratios = ratios[(ratios >= ratio_min) & (ratios < ratio_max)].flip(0)
        if len(ratios) == 0:
            raise InvalidInputError(f'no schedule point lies in [{ratio_min}, {ratio_max})')
        # Inside the interval the truncated-normal density is the normal one up to a constant.
        density = torch.exp(-0.5 * ((ratios.double() - mu) / std)**2)
        # Plain attributes, not buffers: they stay on the host when the model moves.
        self.ratios = ratios
        self.probs = (density / density.sum()).float()
        self.max_offset = max_offset
        self._counts: Dict[int, List[int]] = {}

    def masked_counts(self, num_tokens: int) -> List[int]:
        """``ceil(N * ratio)`` for each ratio of the table, in float32 as released."""
        if num_tokens not in self._counts:
            self._counts[num_tokens] = torch.ceil(num_tokens * self.ratios).long().tolist()
        return self._counts[num_tokens]

    def forward(self, batch_size: int, num_tokens: int,
                generator: Optional[torch.Generator] = None,
                device: Optional[Union[str, torch.device]] = None) -> NestedMasks:
        """Draws one ratio pair for the batch and the masks of each row.

        Args:
            batch_size (int): B.
            num_tokens (int): N.
            generator (torch.Generator, optional): A CPU generator for the ratios; the masks
                draw from it too, so ``device`` must then be the CPU.
            device (str | torch.device, optional): Where the masks are drawn.

        Returns:
            NestedMasks: ``mask_t`` inside ``mask_next``, the ratio and count of ``mask_t``.
        """
        idx = host_value(torch.multinomial(self.probs, 1, generator=generator))
        offset = host_value(torch.randint(1, self.max_offset + 1, (1, ), generator=generator))
        next_idx = min(idx + offset, len(self.ratios) - 1)
        counts = self.masked_counts(num_tokens)
        rank = random_ranks(batch_size, num_tokens, generator, device)
        return NestedMasks(rank < counts[idx], rank < counts[next_idx], self.ratios[idx],
                           counts[idx])


@MODELS.register_module()
class TruncatedNormalMaskGenerator(nn.Module):
    """Draws MAGE's training masks: one ratio per batch from a truncated normal.

    ``ceil(N * ratio)`` tokens are masked and the first ``ceil(N * ratio_min)`` of them are
    also dropped from the encoder input, as MAGE trains its token predictor.

    Args:
        ratio_min (float): Lowest mask ratio, and the share of dropped tokens. MAGE: 0.5.
        ratio_max (float): Highest mask ratio. MAGE: 1.0.
        mu (float): Mean of the normal. MAGE: 0.55.
        std (float): Its standard deviation. MAGE: 0.25.
    """

    def __init__(self, ratio_min: float = 0.5, ratio_max: float = 1.0, mu: float = 0.55,
                 std: float = 0.25) -> None:
        super().__init__()
        from scipy.stats import truncnorm
        self.ratio_min = ratio_min
        self.distribution = truncnorm((ratio_min - mu) / std, (ratio_max - mu) / std, loc=mu,
                                      scale=std)

    def forward(self, batch_size: int, num_tokens: int,
                device: Optional[Union[str, torch.device]] = None) -> TokenMasks:
        """Args:
            batch_size (int): B.
            num_tokens (int): N.
            device (str | torch.device, optional): Where the masks are drawn.

        Returns:
            TokenMasks: ``mask`` and ``drop_mask`` inside it, the ratio and the dropped count.
        """
        # Inverse-CDF sampling from torch's CPU stream, which the runner seeds.
        ratio = float(self.distribution.ppf(host_value(torch.rand(()))))
        num_masked = math.ceil(num_tokens * ratio)
        num_dropped = math.ceil(num_tokens * self.ratio_min)
        rank = random_ranks(batch_size, num_tokens, device=device)
        return TokenMasks(rank < num_masked, rank < num_dropped, ratio, num_dropped)
