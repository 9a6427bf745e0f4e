"""Keeps every code of a VQ codebook in use: data initialisation and dead-code restarts."""
import torch
import torch.nn as nn
from mmengine.dist import all_reduce, broadcast, get_rank

from addp.errors import InvalidInputError
from addp.registry import MODELS


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


@MODELS.register_module()
class CodebookReviver(nn.Module):
    """Initialises a codebook from data, then restarts codes that fall out of use.

    The first training batch sets the codebook to k-means centres of its encoder latents. After
    that an exponential moving average tracks how often each code is chosen, relative to
    uniform use. A code whose average drops below ``dead_threshold`` moves onto a latent of the
    current batch, drawn with probability proportional to the squared distance from that latent
    to its nearest code: restarts go where the codebook fits the data worst, not to the common
    background that a uniform draw would pick again and again.

    Under DDP the usage counts are summed over ranks, so every rank's data counts and every
    rank finds the same dead codes. Rank 0 computes the initialisation and the restarts from
    its batch and broadcasts the codebook, only in the steps where one of them happened.

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

    @torch.no_grad()
    def forward(self, codebook: torch.Tensor, latents: torch.Tensor,
                indices: torch.Tensor) -> bool:
        """Updates ``codebook`` in place from one batch.

        Args:
            codebook (Tensor): The (K, C) codebook parameter.
            latents (Tensor): Encoder latents (M, C) of this rank's batch.
            indices (Tensor): Their nearest codes (M, ).

        Returns:
            bool: Whether the codebook changed (the caller then quantizes again).
        """
        K = codebook.shape[0]
        latents = latents.detach().float()
        is_rank_zero = get_rank() == 0
        if not self.initialized:
            self.initialized.fill_(True)
            if self.kmeans_iters == 0:
                return False
            if len(latents) < K:
                raise InvalidInputError(
                    f'the first batch has {len(latents)} latents, fewer than the {K} codes to '
                    'initialise; use a larger batch or kmeans_iters=0')
            if is_rank_zero:
                codebook.copy_(kmeans(latents, K, self.kmeans_iters))
            broadcast(codebook)
            return True
        counts = torch.bincount(indices.flatten(), minlength=K)
        all_reduce(counts)
        self.usage.mul_(self.decay).add_(counts.float() * K / counts.sum(), alpha=1 - self.decay)
        dead = (self.usage < self.dead_threshold).nonzero().flatten()
        if len(dead) == 0:
            return False
        if is_rank_zero:
            error = torch.cdist(latents, codebook.float()).min(1).values.pow(2)
            picks = torch.multinomial(error + 1e-12, len(dead), replacement=len(dead) > len(error))
            codebook[dead] = latents[picks].to(codebook.dtype)
        broadcast(codebook)
        self.usage[dead] = 1.
        return True
