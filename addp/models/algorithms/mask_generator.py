"""Nested token masks for the two diffusion steps of one ADDP training sample."""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn

from addp.errors import InvalidInputError
from addp.registry import MODELS


def random_ranks(batch_size: int, num_tokens: int,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Each row a random permutation of 0..N-1, as ranks: ``rank < n`` masks n random tokens,
    and masks of growing n are nested."""
    return torch.rand(batch_size, num_tokens, generator=generator).argsort(1).argsort(1)


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
        self.register_buffer('ratios', ratios, persistent=False)
        self.register_buffer('probs', (density / density.sum()).float(), persistent=False)
        self.max_offset = max_offset

    def forward(self, batch_size: int, num_tokens: int,
                generator: Optional[torch.Generator] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns:
            tuple: ``mask_t`` and ``mask_next`` (B, N) bool with ``mask_t`` inside
            ``mask_next``, and the ratio of ``mask_t``.
        """
        device = self.ratios.device
        idx = int(torch.multinomial(self.probs.cpu(), 1, generator=generator))
        offset = int(torch.randint(1, self.max_offset + 1, (1, ), generator=generator))
        next_idx = min(idx + offset, len(self.ratios) - 1)
        num_masked = int(torch.ceil(num_tokens * self.ratios[idx]))
        num_masked_next = int(torch.ceil(num_tokens * self.ratios[next_idx]))
        rank = random_ranks(batch_size, num_tokens, generator).to(device)
        return rank < num_masked, rank < num_masked_next, self.ratios[idx]


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
                device: Optional[torch.device] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, float]:
        """Returns:
            tuple: ``mask`` and ``drop_mask`` (B, N) bool with ``drop_mask`` inside ``mask``,
            and the mask ratio.
        """
        # Inverse-CDF sampling from torch's stream, which the runner seeds.
        ratio = float(self.distribution.ppf(float(torch.rand(()))))
        num_masked = math.ceil(num_tokens * ratio)
        num_dropped = math.ceil(num_tokens * self.ratio_min)
        rank = random_ranks(batch_size, num_tokens).to(device)
        return rank < num_masked, rank < num_dropped, ratio
