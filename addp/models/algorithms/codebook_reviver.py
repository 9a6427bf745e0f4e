"""Keeps every code of a VQ codebook in use: data initialisation and dead-code restarts."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.dist import all_reduce, broadcast, get_rank

from addp.errors import InvalidInputError
from addp.metrics import code_counts
from addp.registry import MODELS

from ..layers import standard_gumbel


def kmeans(points: torch.Tensor, num_clusters: int, num_iters: int) -> torch.Tensor:
    """k-means++ seeding, then Lloyd iterations.

    Args:
        points (Tensor): (M, C).
        num_clusters (int): K.
        num_iters (int): Lloyd iterations after seeding.

    Returns:
        Tensor: Centres (K, C).
    """
    centres = points[torch.randint(len(points), (1, ))]
    nearest = torch.cdist(points, centres).squeeze(1).pow(2)
    for _ in range(1, num_clusters):
        pick = torch.multinomial(nearest + 1e-12, 1)
        centres = torch.cat([centres, points[pick]])
        nearest = torch.minimum(nearest, (points - points[pick]).pow(2).sum(1))
    for _ in range(num_iters):
        assign = torch.cdist(points, centres).argmin(1)
        sums = torch.zeros_like(centres).index_add_(0, assign, points)
        counts = torch.bincount(assign, minlength=num_clusters).unsqueeze(1)
        # An empty cluster keeps its centre.
        centres = torch.where(counts > 0, sums / counts.clamp(min=1), centres)
    return centres


def restart_picks(error: torch.Tensor, num_codes: int) -> torch.Tensor:
    """(K, ) latent indices drawn with probability proportional to ``error`` (M, ).

    Distinct (drawn without replacement, by the Gumbel top-k trick) while the batch has at
    least K latents, with replacement otherwise. ``torch.multinomial`` would read the
    probabilities back to check them, waiting for the device; this draws on it.
    """
    keys = error.clamp(min=1e-12).log()
    if len(error) >= num_codes:
        return (keys + standard_gumbel(keys.shape, keys.device)).topk(num_codes).indices
    return (keys + standard_gumbel((num_codes, len(error)), keys.device)).argmax(dim=1)


@MODELS.register_module()
class CodebookReviver(nn.Module):
    """Initialises a codebook from data, then restarts codes that fall out of use.

    The first training batch sets the codebook to k-means centres of its encoder latents. After
    that an exponential moving average tracks how often each code is chosen, relative to
    uniform use. A code whose average drops below ``dead_threshold`` moves onto a latent of the
    current batch, drawn with probability proportional to the squared distance from that latent
    to its nearest code: restarts go where the codebook fits the data worst, not to the common
    background that a uniform draw would pick again and again.

    After the initialisation nothing reads back from the device: every step draws the
    candidate latents and writes the codebook where a code is dead (a no-op where none is),
    so that the host never waits to learn whether one was.

    Under DDP the usage counts are summed over ranks, so every rank's data counts and every
    rank finds the same dead codes. Rank 0 computes the initialisation and the candidates from
    its batch and broadcasts the codebook, every step (K x C values; a step cannot know
    without waiting whether a code restarted).

    Args:
        num_codes (int): K, the codebook size; the ``VQGAN`` algorithm sets it.
        decay (float): Of the usage average.
        dead_threshold (float): Usage, relative to uniform (1.0), below which a code is dead.
        kmeans_iters (int): Lloyd iterations of the data initialisation; 0 skips the k-means
            initialisation and keeps the codebook's own.
    """

    def __init__(self, num_codes: int, decay: float = 0.99, dead_threshold: float = 0.03,
                 kmeans_iters: int = 10) -> None:
        super().__init__()
        self.decay = decay
        self.dead_threshold = dead_threshold
        self.kmeans_iters = kmeans_iters
        # Persistent, so that a resumed run restarts codes exactly as the original would.
        self.register_buffer('usage', torch.ones(num_codes))
        self.register_buffer('initialized', torch.tensor(False))
        # The host's copy of ``initialized``: read from the buffer once, after construction or
        # loading, rather than every step.
        self._initialized_on_host: Optional[bool] = None

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._initialized_on_host = None

    def mark_initialized(self) -> None:
        """Keeps the codebook as it is: no data initialisation (a trained codebook)."""
        self.initialized.fill_(True)
        self._initialized_on_host = True

    def is_initialized(self) -> bool:
        """Whether the data initialisation has happened (read from the buffer once)."""
        if self._initialized_on_host is None:
            self._initialized_on_host = bool(self.initialized)
        return self._initialized_on_host

    @torch.no_grad()
    def forward(self, codebook: torch.Tensor, latents: torch.Tensor,
                indices: torch.Tensor) -> torch.Tensor:
        """Updates ``codebook`` in place from one batch.

        Args:
            codebook (Tensor): The (K, C) codebook parameter.
            latents (Tensor): Encoder latents (M, C) of this rank's batch.
            indices (Tensor): Their nearest codes (M, ).

        Returns:
            Tensor: 0-d bool, left on the device: whether the codebook changed. The caller
            quantizes again whatever it says, rather than wait to read it.
        """
        K = codebook.shape[0]
        latents = latents.detach().float()
        is_rank_zero = get_rank() == 0
        if not self.is_initialized():
            self.mark_initialized()
            if self.kmeans_iters == 0:
                return codebook.new_zeros((), dtype=torch.bool)
            if len(latents) < K:
                raise InvalidInputError(
                    f'the first batch has {len(latents)} latents, fewer than the {K} codes to '
                    'initialise; use a larger batch or kmeans_iters=0')
            if is_rank_zero:
                codebook.copy_(kmeans(latents, K, self.kmeans_iters))
            broadcast(codebook)
            return codebook.new_ones((), dtype=torch.bool)
        counts = code_counts(indices, K)
        all_reduce(counts)
        self.usage.mul_(self.decay).add_(counts.float() * K / counts.sum(), alpha=1 - self.decay)
        dead = self.usage < self.dead_threshold
        if is_rank_zero:
            error = torch.cdist(latents, codebook.float()).min(1).values.pow(2)
            picks = restart_picks(error, K)
            # The j-th dead code takes the j-th candidate: distinct latents for distinct codes.
            order = (dead.long().cumsum(0) - 1).clamp(min=0)
            restarts = latents[picks[order]].to(codebook.dtype)
            codebook.copy_(torch.where(dead.unsqueeze(1), restarts, codebook))
        broadcast(codebook)
        self.usage.masked_fill_(dead, 1.)
        return dead.any()
