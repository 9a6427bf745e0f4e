"""The MAGE/MaskGIT VQGAN tokenizer, a frozen target generator (networks in vqgan_networks)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn

from addp.errors import InvalidInputError
from addp.precision import exact_fp32
from addp.registry import MODELS

from .frozen import FrozenModule
from .vqgan_networks import RELEASED_NORM_GROUPS, VectorQuantizer, VQGANDecoder, VQGANEncoder


def downsample_factor(num_levels: int) -> int:
    """Pixels per token side of a VQGAN with ``num_levels`` resolution levels (``ch_mult``)."""
    return 2**(num_levels - 1)


@MODELS.register_module()
class VQGANTokenizer(FrozenModule):
    """Frozen MAGE VQGAN: images in [0, 1] to codebook indices and back.

    Args:
        ch (int): Base width. Released: 128.
        ch_mult (Sequence[int]): Width multipliers per level. Released: (1, 1, 2, 2, 4).
        num_res_blocks (int): Residual blocks per level. Released: 2.
        z_channels (int): Latent width. Released: 256.
        codebook_size (int): Number of codes K. Released: 1024.
        codebook_dim (int): Code width; equals ``z_channels``. Released: 256.
        norm_groups (int): GroupNorm groups of every layer. Released: 32, i.e. 4 to 16
            channels per group; at width 32 that would be one channel per group, an instance
            norm that erases each image's overall colour.
        checkpoint (str, optional): Path of ``vqgan_jax_strongaug.ckpt`` (bare state dict, or
            under ``state_dict``) or of a file of this module's keys. Loaded at construction so
            that a model rebuilt for testing or sampling has its frozen weights.
        frozen (bool): False where the ``VQGAN`` algorithm trains this module.
        init_cfg (dict, optional): Unused; the weights come from ``checkpoint``.
    """

    # A file may hold the tokenizer alone or a whole official (``vqgan.``) or ADDP model.
    checkpoint_prefixes = ('', 'vqgan.', 'tokenizer.')
    # Training-only weights (discriminator, perceptual loss) that some VQGAN files carry.
    ignored_checkpoint_keys = (r'loss\..*', )

    def __init__(self,
                 ch: int = 128,
                 ch_mult: Sequence[int] = (1, 1, 2, 2, 4),
                 num_res_blocks: int = 2,
                 z_channels: int = 256,
                 codebook_size: int = 1024,
                 codebook_dim: int = 256,
                 norm_groups: int = RELEASED_NORM_GROUPS,
                 checkpoint: Optional[str] = None,
                 frozen: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(frozen=frozen, init_cfg=init_cfg)
        if codebook_dim != z_channels:
            raise InvalidInputError(f'codebook_dim ({codebook_dim}) must equal z_channels '
                                    f'({z_channels}): codes replace encoder latents one to one')
        self.downsample_factor = downsample_factor(len(ch_mult))
        self.codebook_size = codebook_size
        self.encoder = VQGANEncoder(ch, ch_mult, num_res_blocks, z_channels,
                                    norm_groups=norm_groups)
        self.decoder = VQGANDecoder(ch, ch_mult, num_res_blocks, z_channels,
                                    norm_groups=norm_groups)
        self.quantize = VectorQuantizer(codebook_size, codebook_dim)
        # Channels-last convolutions: 1.18x faster encoding on CPU, faster on GPU tensor cores.
        self.to(memory_format=torch.channels_last)
        self.freeze(checkpoint)

    @property
    def codebook(self) -> torch.Tensor:
        """The (K, C) codebook."""
        return self.quantize.embedding.weight

    def grid_size(self, image_size: Tuple[int, int]) -> Tuple[int, int]:
        """Latent grid (h, w) for an image of size (H, W)."""
        return image_size[0] // self.downsample_factor, image_size[1] // self.downsample_factor

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Tokens of images, searched in IEEE fp32 (:func:`addp.precision.exact_fp32`).

        Args:
            images (Tensor): (B, 3, H, W) in [0, 1].

        Returns:
            tuple: Indices (B, h * w) int64 and the quantized latent (B, C, h, w).
        """
        # IEEE fp32 whatever the run's autocast and TF32 flags: the tokens are targets, and
        # a bf16 or TF32 encoder flips near-ties between codes (docs/speed.md).
        with exact_fp32(images.device.type):
            z = self.encoder(images.float())
            indices = self.quantize(z)
        return indices, self.lookup(indices, z.shape[-2:])

    @torch.no_grad()
    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Latent (B, C, h, w) to pixels (B, 3, H, W), nominally in [0, 1]."""
        return self.decoder(latent)

    def init_trainable_weights(self) -> None:
        """A code spread small and even, as taming starts; data initialisation may follow."""
        K = self.codebook_size
        nn.init.uniform_(self.quantize.embedding.weight, -1. / K, 1. / K)

    def lookup(self, indices: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        """Codebook entries of indices (B, h * w) as a latent (B, C, h, w)."""
        B = indices.shape[0]
        return self.codebook[indices].view(B, grid[0], grid[1], -1).permute(0, 3, 1, 2)

    def embed_probs(self, probs: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        """Soft embedding: distributions (B, h * w, K) times the codebook, as (B, C, h, w)."""
        B = probs.shape[0]
        return (probs @ self.codebook).view(B, grid[0], grid[1], -1).permute(0, 3, 1, 2)

    @torch.no_grad()
    def decode_token_state(self, token_ids: torch.Tensor, mask: torch.Tensor,
                           grid: Tuple[int, int],
                           probs: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Pixels of a partly masked token map, the one way training and sampling make them.

        Args:
            token_ids (Tensor): (B, h * w) codes; read where not masked.
            mask (Tensor): (B, h * w), true where masked.
            grid (tuple[int, int]): (h, w).
            probs (Tensor, optional): (B, h * w, K). Masked positions take the expected code
                under it, or the mean code when None (a canvas with nothing predicted yet).

        Returns:
            Tensor: (B, 3, H, W).
        """
        if probs is None:
            soft = self.codebook.mean(dim=0).view(1, -1, 1, 1)
        else:
            soft = self.embed_probs(probs, grid)
        latent = torch.where(mask.view(-1, 1, *grid), soft, self.lookup(token_ids, grid))
        return self.decode(latent)
