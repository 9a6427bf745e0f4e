"""The MAGE/MaskGIT VQGAN tokenizer, a frozen target generator.

This is not taming's VQGAN. It has no attention blocks, its residual convs carry no bias, the
encoder downsamples by average pooling, and where a residual block changes width the 1x1
shortcut is applied to the residual branch's output instead of the block input. The released
``vqgan_jax_strongaug.ckpt`` only reproduces its tokens with these quirks intact.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from addp.errors import InvalidInputError
from addp.registry import MODELS

from .frozen import FrozenModule


def _group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    """Two bias-free 3x3 convs with GroupNorm and SiLU.

    When ``in_channels != out_channels``, the output is ``nin_shortcut(h) + h`` with ``h`` the
    residual branch: the released weights were trained that way.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm1 = _group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = _group_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(out_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        if hasattr(self, 'nin_shortcut'):
            return self.nin_shortcut(h) + h
        return x + h


class Upsample(nn.Module):
    """Nearest-neighbour 2x upsampling followed by a 3x3 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode='nearest'))


def _res_stage(in_channels: int, out_channels: int, num_blocks: int) -> nn.ModuleList:
    return nn.ModuleList(
        ResnetBlock(in_channels if i == 0 else out_channels, out_channels)
        for i in range(num_blocks))


class VQGANEncoder(nn.Module):
    """Image (B, 3, H, W) to latent (B, z_channels, H / 2^L, W / 2^L), L = len(ch_mult) - 1."""

    def __init__(self, ch: int, ch_mult: Sequence[int], num_res_blocks: int, z_channels: int,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1, bias=False)
        widths = [ch] + [ch * m for m in ch_mult]
        self.down = nn.ModuleList()
        for level in range(len(ch_mult)):
            stage = nn.Module()
            stage.block = _res_stage(widths[level], widths[level + 1], num_res_blocks)
            self.down.append(stage)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(widths[-1], widths[-1])
        self.mid.block_2 = ResnetBlock(widths[-1], widths[-1])
        self.norm_out = _group_norm(widths[-1])
        self.conv_out = nn.Conv2d(widths[-1], z_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for level, stage in enumerate(self.down):
            for block in stage.block:
                h = block(h)
            if level != len(self.down) - 1:
                h = F.avg_pool2d(h, kernel_size=2, stride=2)
        h = self.mid.block_2(self.mid.block_1(h))
        return self.conv_out(F.silu(self.norm_out(h)))


class VQGANDecoder(nn.Module):
    """Latent (B, z_channels, h, w) to image (B, out_channels, h * 2^L, w * 2^L)."""

    def __init__(self, ch: int, ch_mult: Sequence[int], num_res_blocks: int, z_channels: int,
                 out_channels: int = 3) -> None:
        super().__init__()
        top = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z_channels, top, 3, padding=1)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(top, top)
        self.mid.block_2 = ResnetBlock(top, top)
        # Built from the coarsest level down but stored finest-first, as the checkpoints name them.
        levels = {}
        width = top
        for level in reversed(range(len(ch_mult))):
            stage = nn.Module()
            stage.block = _res_stage(width, ch * ch_mult[level], num_res_blocks)
            width = ch * ch_mult[level]
            if level != 0:
                stage.upsample = Upsample(width)
            levels[level] = stage
        self.up = nn.ModuleList(levels[level] for level in range(len(ch_mult)))
        self.norm_out = _group_norm(width)
        self.conv_out = nn.Conv2d(width, out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid.block_2(self.mid.block_1(self.conv_in(z)))
        for level in reversed(range(len(self.up))):
            for block in self.up[level].block:
                h = block(h)
            if level != 0:
                h = self.up[level].upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class VectorQuantizer(nn.Module):
    """Nearest-codebook-entry quantizer; ``embedding.weight`` is the (K, C) codebook."""

    def __init__(self, codebook_size: int, codebook_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(codebook_size, codebook_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Args:
            z (Tensor): Latent of shape (B, C, h, w).

        Returns:
            Tensor: Indices of shape (B, h * w), row-major.
        """
        B, C, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, C)
        codebook = self.embedding.weight
        dist = (flat.pow(2).sum(1, keepdim=True) + codebook.pow(2).sum(1)
                - 2 * flat @ codebook.t())
        return dist.argmin(dim=1).view(B, h * w)


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
                 checkpoint: Optional[str] = None,
                 frozen: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(frozen=frozen, init_cfg=init_cfg)
        if codebook_dim != z_channels:
            raise InvalidInputError(f'codebook_dim ({codebook_dim}) must equal z_channels '
                                    f'({z_channels}): codes replace encoder latents one to one')
        self.downsample_factor = 2**(len(ch_mult) - 1)
        self.codebook_size = codebook_size
        self.encoder = VQGANEncoder(ch, ch_mult, num_res_blocks, z_channels)
        self.decoder = VQGANDecoder(ch, ch_mult, num_res_blocks, z_channels)
        self.quantize = VectorQuantizer(codebook_size, codebook_dim)
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
        """Args:
            images (Tensor): (B, 3, H, W) in [0, 1].

        Returns:
            tuple: Indices (B, h * w) int64 and the quantized latent (B, C, h, w).
        """
        z = self.encoder(images)
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
