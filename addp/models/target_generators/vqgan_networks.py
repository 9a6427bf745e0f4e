"""The networks of the MAGE/MaskGIT VQGAN: encoder, decoder and vector quantizer.

This is not taming's VQGAN. It has no attention blocks, its residual convs carry no bias, the
encoder downsamples by average pooling, and where a residual block changes width the 1x1
shortcut is applied to the residual branch's output instead of the block input. The released
``vqgan_jax_strongaug.ckpt`` only reproduces its tokens with these quirks intact.
"""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

# The released tokenizer's GroupNorm groups, in every layer.
RELEASED_NORM_GROUPS = 32


def _group_norm(channels: int, num_groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=num_groups, num_channels=channels, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    """Two bias-free 3x3 convs with GroupNorm and SiLU.

    When ``in_channels != out_channels``, the output is ``nin_shortcut(h) + h`` with ``h`` the
    residual branch: the released weights were trained that way.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 norm_groups: int = RELEASED_NORM_GROUPS) -> None:
        super().__init__()
        self.norm1 = _group_norm(in_channels, norm_groups)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = _group_norm(out_channels, norm_groups)
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


def weight_layout(conv: nn.Conv2d) -> torch.memory_format:
    """The memory format of ``conv``'s weight, which its network's inputs are given: the
    tokenizer chooses the layout once (``module.to(memory_format=...)``), and activations
    follow it without a conversion per layer."""
    if conv.weight.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def _res_stage(in_channels: int, out_channels: int, num_blocks: int,
               norm_groups: int) -> nn.ModuleList:
    return nn.ModuleList(
        ResnetBlock(in_channels if i == 0 else out_channels, out_channels, norm_groups)
        for i in range(num_blocks))


class VQGANEncoder(nn.Module):
    """Image (B, 3, H, W) to latent (B, z_channels, H / 2^L, W / 2^L), L = len(ch_mult) - 1."""

    def __init__(self, ch: int, ch_mult: Sequence[int], num_res_blocks: int, z_channels: int,
                 in_channels: int = 3, norm_groups: int = RELEASED_NORM_GROUPS) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1, bias=False)
        widths = [ch] + [ch * m for m in ch_mult]
        self.down = nn.ModuleList()
        for level in range(len(ch_mult)):
            stage = nn.Module()
            stage.block = _res_stage(widths[level], widths[level + 1], num_res_blocks,
                                     norm_groups)
            self.down.append(stage)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(widths[-1], widths[-1], norm_groups)
        self.mid.block_2 = ResnetBlock(widths[-1], widths[-1], norm_groups)
        self.norm_out = _group_norm(widths[-1], norm_groups)
        self.conv_out = nn.Conv2d(widths[-1], z_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x.contiguous(memory_format=weight_layout(self.conv_in)))
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
                 out_channels: int = 3, norm_groups: int = RELEASED_NORM_GROUPS) -> None:
        super().__init__()
        top = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z_channels, top, 3, padding=1)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(top, top, norm_groups)
        self.mid.block_2 = ResnetBlock(top, top, norm_groups)
        # Built from the coarsest level down but stored finest-first, as the checkpoints name them.
        levels = {}
        width = top
        for level in reversed(range(len(ch_mult))):
            stage = nn.Module()
            stage.block = _res_stage(width, ch * ch_mult[level], num_res_blocks, norm_groups)
            width = ch * ch_mult[level]
            if level != 0:
                stage.upsample = Upsample(width)
            levels[level] = stage
        self.up = nn.ModuleList(levels[level] for level in range(len(ch_mult)))
        self.norm_out = _group_norm(width, norm_groups)
        self.conv_out = nn.Conv2d(width, out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z.contiguous(memory_format=weight_layout(self.conv_in))
        h = self.mid.block_2(self.mid.block_1(self.conv_in(z)))
        for level in reversed(range(len(self.up))):
            for block in self.up[level].block:
                h = block(h)
            if level != 0:
                h = self.up[level].upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class VectorQuantizer(nn.Module):
    """Nearest-codebook-entry quantizer; ``embedding.weight`` is the (K, C) codebook.

    The search runs in fp32 under any autocast: near-ties between codes flip in bf16 or fp16,
    and the indices are training targets and samples.
    """

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
        with torch.autocast(z.device.type, enabled=False):
            flat = z.permute(0, 2, 3, 1).reshape(-1, C).float()
            codebook = self.embedding.weight.float()
            dist = (flat.pow(2).sum(1, keepdim=True) + codebook.pow(2).sum(1)
                    - 2 * flat @ codebook.t())
        return dist.argmin(dim=1).view(B, h * w)
