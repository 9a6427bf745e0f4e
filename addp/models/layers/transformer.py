"""The one attention layer and transformer block that every ViT in ADDP uses."""
from typing import Callable, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath, Mlp
from torch.utils.checkpoint import checkpoint

from addp.errors import InvalidInputError

# An additive attention bias, or a function of the queries that returns one.
AttnBias = Union[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]


class Attention(nn.Module):
    """Multi-head self-attention on ``F.scaled_dot_product_attention``.

    Parameter names (``qkv``, ``proj``) match the official ADDP and MAGE checkpoints.

    Args:
        dim (int): Token width.
        num_heads (int): Number of heads; must divide ``dim``.
        qkv_bias (bool): Whether the fused qkv projection has a bias. Defaults to True.
        attn_drop (float): Dropout on the attention weights during training.
        proj_drop (float): Dropout after the output projection.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.) -> None:
        super().__init__()
        if dim % num_heads != 0:
            raise InvalidInputError(f'dim {dim} is not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, attn_bias: Optional[AttnBias] = None) -> torch.Tensor:
        """Args:
            x (Tensor): Tokens of shape (B, N, C).
            attn_bias (Tensor | Callable, optional): Additive bias broadcastable to
                (B, heads, N, N), e.g. a relative-position bias, or a function that computes
                it from the queries (B, heads, N, C // heads), as decomposed relative
                position does.

        Returns:
            Tensor: Shape (B, N, C).
        """
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if callable(attn_bias):
            attn_bias = attn_bias(q)
        x = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_bias, dropout_p=self.attn_drop if self.training else 0.)
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(x))


class TransformerBlock(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``.

    Args:
        dim (int): Token width.
        num_heads (int): Attention heads.
        mlp_ratio (float): Hidden width of the MLP relative to ``dim``.
        qkv_bias (bool): Bias in the qkv projection.
        drop (float): Dropout after the attention projection and inside the MLP.
        attn_drop (float): Dropout on attention weights.
        drop_path (float): Stochastic depth rate.
        norm_eps (float): LayerNorm epsilon; the released models use 1e-6.
        with_cp (bool): Recompute the block in the backward pass instead of keeping its
            activations (activation checkpointing), trading time for memory.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop: float = 0.,
                 attn_drop: float = 0.,
                 drop_path: float = 0.,
                 norm_eps: float = 1e-6,
                 with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = Attention(dim, num_heads, qkv_bias, attn_drop=attn_drop, proj_drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio), drop=drop)

    def forward(self, x: torch.Tensor, attn_bias: Optional[AttnBias] = None) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            # The RNG state is replayed, so dropout masks match in the recomputation.
            return checkpoint(self._forward, x, attn_bias, use_reentrant=False)
        return self._forward(x, attn_bias)

    def _forward(self, x: torch.Tensor, attn_bias: Optional[AttnBias] = None) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), attn_bias))
        return x + self.drop_path(self.mlp(self.norm2(x)))


def init_linear_and_norm(module: nn.Module) -> None:
    """Xavier-uniform linear weights, zero biases and unit LayerNorms, as the official ViTs."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
