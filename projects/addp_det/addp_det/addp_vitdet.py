"""The ADDP encoder as a ViTDet backbone: windowed attention, a few global blocks and
decomposed relative position, on the same blocks and parameter names as ``ADDPViT``."""
from functools import partial
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS

from addp.models import ADDPViT


def window_partition(x: torch.Tensor, window_size: int) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Splits a feature map into non-overlapping windows, zero-padding its bottom and right.

    Args:
        x (Tensor): Feature map of shape (B, H, W, C).
        window_size (int): Window side.

    Returns:
        tuple: Windows (B * num_windows, window_size, window_size, C) and the padded (H, W).
    """
    B, H, W, C = x.shape
    pad_h, pad_w = (-H) % window_size, (-W) % window_size
    x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    Hp, Wp = H + pad_h, W + pad_w
    x = x.view(B, Hp // window_size, window_size, Wp // window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window_size, window_size, C), (Hp, Wp)


def window_unpartition(windows: torch.Tensor, window_size: int, padded_hw: Tuple[int, int],
                       hw: Tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`window_partition`, dropping the padding.

    Args:
        windows (Tensor): Shape (B * num_windows, window_size, window_size, C).
        window_size (int): Window side.
        padded_hw (tuple[int, int]): Padded (H, W) returned by :func:`window_partition`.
        hw (tuple[int, int]): The (H, W) before padding.

    Returns:
        Tensor: Feature map of shape (B, H, W, C).
    """
    (Hp, Wp), (H, W) = padded_hw, hw
    C = windows.shape[-1]
    x = windows.view(-1, Hp // window_size, Wp // window_size, window_size, window_size, C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, Hp, Wp, C)
    return x[:, :H, :W].contiguous()


def relative_position_embeddings(table: torch.Tensor, size: int) -> torch.Tensor:
    """Looks up the embedding of every (query, key) offset along one axis.

    Args:
        table (Tensor): Shape (L, C), one row per offset from ``-(L // 2)`` to ``L // 2``;
            linearly resized when ``L != 2 * size - 1``.
        size (int): Number of positions along the axis, for queries and keys alike.

    Returns:
        Tensor: Shape (size, size, C); entry (i, j) embeds the offset ``i - j``.
    """
    length = 2 * size - 1
    if table.shape[0] != length:
        table = F.interpolate(table.t().unsqueeze(0), size=length, mode='linear')[0].t()
    offsets = torch.arange(size, device=table.device)
    return table[offsets[:, None] - offsets[None, :] + size - 1]


def decomposed_rel_pos_bias(q: torch.Tensor, size: Tuple[int, int], rel_pos_h: torch.Tensor,
                            rel_pos_w: torch.Tensor) -> torch.Tensor:
    """Decomposed relative-position attention bias of MViTv2 and ViTDet.

    The bias of query (i, j) to key (k, l) is ``q . R_h[i - k] + q . R_w[j - l]``, with the
    unscaled query, as the reference implementation adds it to the scaled logits.

    Args:
        q (Tensor): Queries of shape (B, heads, h * w, C).
        size (tuple[int, int]): The (h, w) grid the tokens come from.
        rel_pos_h (Tensor): Offset embeddings along the height, (2h - 1, C).
        rel_pos_w (Tensor): Offset embeddings along the width, (2w - 1, C).

    Returns:
        Tensor: Additive bias of shape (B, heads, h * w, h * w).
    """
    h, w = size
    B, num_heads, N, C = q.shape
    r_q = q.reshape(B, num_heads, h, w, C)
    bias_h = torch.einsum('bnhwc,hkc->bnhwk', r_q, relative_position_embeddings(rel_pos_h, h))
    bias_w = torch.einsum('bnhwc,wkc->bnhwk', r_q, relative_position_embeddings(rel_pos_w, w))
    return (bias_h[..., :, None] + bias_w[..., None, :]).reshape(B, num_heads, N, N)


@MODELS.register_module()
class ADDPViTDet(ADDPViT):
    """ADDP encoder as the plain-ViT backbone of ViTDet (Li et al., 2022).

    Most blocks attend within ``window_size`` windows; the blocks in ``global_attn_indexes``
    attend over the whole map. With ``use_rel_pos`` every block adds a decomposed relative
    position bias whose tables (``blocks.i.attn.rel_pos_h`` and ``rel_pos_w``) are new and
    start at zero; all other parameters load from ADDP checkpoints by name, and the position
    embedding is interpolated to the ``img_size`` grid when loading. The trunk has no class
    token: ``cls_token`` is kept, frozen, only so that checkpoints load by name. There is no
    final norm: ViTDet's pyramid reads the last block's output.

    Output for a (B, 3, H, W) input: one map (B, C, H / 16, W / 16) with patch size 16,
    e.g. (B, 768, 64, 64) for ViT-B at 1024 x 1024.

    Args:
        arch (str | dict): ``'b'``, ``'l'`` or a dict with ``embed_dims``, ``num_layers``
            and ``num_heads``.
        img_size (int): Input size the position embedding and the global blocks' relative
            position tables are laid out for.
        patch_size (int): Patch size.
        window_size (int): Side of the attention windows, in patches.
        global_attn_indexes (Sequence[int], optional): Blocks with global attention.
            Defaults to four evenly spaced blocks, the last one included: (2, 5, 8, 11) for
            ViT-B and (5, 11, 17, 23) for ViT-L.
        use_rel_pos (bool): Add decomposed relative-position biases.
        drop_path_rate (float): Stochastic depth, increasing linearly over blocks.
        frozen_stages (int): Freeze the embeddings and this many blocks; -1 freezes nothing.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=...)`` loads an ADDP
            pretraining, classification or own checkpoint.
        **kwargs: Other :class:`addp.models.ADDPViT` arguments (``drop_rate``, ``norm_eps``,
            ``interpolate_mode``, ...).
    """

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 img_size: int = 1024,
                 patch_size: int = 16,
                 window_size: int = 14,
                 global_attn_indexes: Optional[Sequence[int]] = None,
                 use_rel_pos: bool = True,
                 drop_path_rate: float = 0.,
                 frozen_stages: int = -1,
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            out_type='featmap',
            final_norm=False,
            tokenizer_norm=False,
            normalize_input=False,
            drop_path_rate=drop_path_rate,
            frozen_stages=frozen_stages,
            init_cfg=init_cfg,
            **kwargs)
        if global_attn_indexes is None:
            global_attn_indexes = [(k + 1) * self.num_layers // 4 - 1 for k in range(4)]
        self.global_attn_indexes = sorted(i % self.num_layers for i in global_attn_indexes)
        self.window_size = window_size
        self.use_rel_pos = use_rel_pos
        # The trunk never reads the class token; training it would only decay it.
        self.cls_token.requires_grad_(False)
        if use_rel_pos:
            head_dims = self.embed_dims // self.blocks[0].attn.num_heads
            for i, block in enumerate(self.blocks):
                side_h, side_w = ((window_size, window_size) if self._is_windowed(i) else
                                  self.patch_resolution)
                block.attn.rel_pos_h = nn.Parameter(torch.zeros(2 * side_h - 1, head_dims))
                block.attn.rel_pos_w = nn.Parameter(torch.zeros(2 * side_w - 1, head_dims))

    def _is_windowed(self, index: int) -> bool:
        return self.window_size > 0 and index not in self.global_attn_indexes

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Args:
            x (Tensor): Normalised images (B, 3, H, W); H and W divisible by the patch size.

        Returns:
            tuple[Tensor]: The last block's map (B, C, H / patch, W / patch).
        """
        tokens, (h, w) = self.embed(x)
        x = tokens[:, 1:].reshape(x.shape[0], h, w, self.embed_dims)
        for i, block in enumerate(self.blocks):
            x = self._forward_block(block, x, self._is_windowed(i))
        return (x.permute(0, 3, 1, 2).contiguous(), )

    def _forward_block(self, block: nn.Module, x: torch.Tensor, windowed: bool) -> torch.Tensor:
        """Runs ``block`` on a (B, H, W, C) map, in windows or globally."""
        B, H, W, C = x.shape
        shortcut = x
        x = block.norm1(x)
        # Pad after the norm, as ViTDet does, so padded keys carry zeros into the attention.
        if windowed:
            x, padded_hw = window_partition(x, self.window_size)
        size = tuple(x.shape[1:3])
        attn_bias = None
        if self.use_rel_pos:
            attn_bias = partial(decomposed_rel_pos_bias, size=size,
                                rel_pos_h=block.attn.rel_pos_h, rel_pos_w=block.attn.rel_pos_w)
        x = block.attn(x.reshape(-1, size[0] * size[1], C), attn_bias).view(-1, *size, C)
        if windowed:
            x = window_unpartition(x, self.window_size, padded_hw, (H, W))
        x = shortcut + block.drop_path(x)
        return x + block.drop_path(block.mlp(block.norm2(x)))
