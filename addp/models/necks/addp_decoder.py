"""The ADDP decoder: from encoder features and the visible tokens to logits over the vocabulary."""
from typing import NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from addp.errors import InvalidInputError
from addp.registry import MODELS

from ..layers import (
    NO_CLASS,
    TiedMLMLayer,
    TransformerBlock,
    class_slot_ids,
    count_per_row,
    init_linear_and_norm,
)


class DecoderOutput(NamedTuple):
    """What the decoder predicts at the N token-grid positions.

    Attributes:
        logits (Tensor): (B, N, V) over the whole vocabulary: K codes, then the class slots
            and the mask token. The loss reads these, as released.
        codebook_size (int): K.
    """
    logits: torch.Tensor
    codebook_size: int

    @property
    def code_logits(self) -> torch.Tensor:
        """(B, N, K): the logits over codes, which the sampler reads."""
        return self.logits[..., :self.codebook_size]


@MODELS.register_module()
class ADDPDecoder(BaseModule):
    """Predicts the token distribution of the less-masked step.

    The projected encoder features keep their visible positions; masked positions and the
    class slot take the mask token. The token embeddings of the visible tokens are appended.
    Three learned position-embedding sets mark visible, masked and appended entries. An MLM
    layer tied to the token embedding gives the logits.

    Class conditioning (``class_conditional=True``) puts the label's token embedding, its
    vocabulary class slot ``K + c``, in the class slot in front. That slot carries the mask
    token in the released model and every position attends to it, so the label reaches all
    predictions through the table that already embeds the appended tokens, and the
    conditional token predictor reads labels the same way. A missing or dropped label keeps
    the mask token, so unconditional models compute exactly as released.

    Args:
        num_patches (int): Token grid size h * w.
        in_channels (int): Encoder width.
        embed_dims (int): Decoder width. Released: equal to the encoder's.
        num_layers (int): Decoder blocks. Released: 8.
        num_heads (int): Decoder heads. Released: 16.
        codebook_size (int): K.
        num_classes (int): Class slots in the vocabulary (released: 1000, unused by ADDP's
            loss). A class-conditional decoder knows classes 0 .. num_classes - 1.
        mlp_ratio (float): MLP width ratio.
        drop_rate (float): Dropout in blocks. Released pretraining: 0.1.
        norm_eps (float): LayerNorm epsilon.
        with_cp (bool): Activation checkpointing in the blocks, for memory (ViT-L).
        class_conditional (bool): Read class labels in the class slot.
        init_cfg (dict, optional): MMEngine initialisation config.
    """

    def __init__(self,
                 num_patches: int = 256,
                 in_channels: int = 768,
                 embed_dims: int = 768,
                 num_layers: int = 8,
                 num_heads: int = 16,
                 codebook_size: int = 1024,
                 num_classes: int = 1000,
                 mlp_ratio: float = 4.,
                 drop_rate: float = 0.,
                 norm_eps: float = 1e-6,
                 with_cp: bool = False,
                 class_conditional: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_patches = num_patches
        self.in_channels = in_channels
        self.codebook_size = codebook_size
        self.num_classes = num_classes
        self.class_conditional = class_conditional
        self.vocab_size = codebook_size + num_classes + 1
        self.embed = nn.Linear(in_channels, embed_dims)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.token_embed = nn.Embedding(self.vocab_size, embed_dims)
        self.pos_embed_visible = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dims))
        self.pos_embed_masked = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dims))
        self.pos_embed_appended = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dims))
        self.blocks = nn.ModuleList(
            TransformerBlock(embed_dims, num_heads, mlp_ratio, drop=drop_rate, attn_drop=drop_rate,
                             norm_eps=norm_eps, with_cp=with_cp) for _ in range(num_layers))
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlm = TiedMLMLayer(embed_dims, embed_dims, self.vocab_size)

    def init_weights(self) -> None:
        """The official initialisation, unless weights come from a pretrained checkpoint."""
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            return
        for param in (self.mask_token, self.token_embed.weight, self.pos_embed_visible,
                      self.pos_embed_masked, self.pos_embed_appended):
            nn.init.normal_(param, std=.02)
        init_linear_and_norm(self)

    def class_slot(self, labels: Optional[torch.Tensor], batch_size: int) -> torch.Tensor:
        """(B or 1, 1, C) what the class slot carries: the mask token, or the labels' embedding
        where a label is given."""
        if labels is not None and not self.class_conditional:
            raise InvalidInputError(
                'this decoder is unconditional and takes no class labels; train a model with '
                'class_conditional=True (projects/digits_study/configs/addp_tiny_digits_cond.py)')
        if labels is None:
            return self.mask_token
        labels = labels.to(self.mask_token.device, non_blocking=True)
        ids = class_slot_ids(labels, self.codebook_size, self.vocab_size - 1)
        given = (labels != NO_CLASS).view(batch_size, 1, 1)
        return torch.where(given, self.token_embed(ids).unsqueeze(1), self.mask_token)

    def forward(self, features: torch.Tensor, token_ids: torch.Tensor,
                mask: torch.Tensor, labels: Optional[torch.Tensor] = None,
                num_masked: Optional[int] = None) -> DecoderOutput:
        """Args:
            features (Tensor): Encoder output (B, 1 + N, C_enc), class token first.
            token_ids (Tensor): Code indices (B, N); only the visible ones are read.
            mask (Tensor): (B, N), true where masked. Every sample must mask the same number
                of tokens, as the released models were trained.
            labels (Tensor, optional): (B,) classes of a class-conditional decoder; -1 or None
                for the unconditional path.
            num_masked (int, optional): Tokens masked in every row, where the caller knows it
                on the host; None reads it from ``mask`` (on a GPU, waiting for the device).

        Returns:
            DecoderOutput: Logits at the N grid positions. The class slot and the U appended
            visible tokens take part in attention only; nothing reads their logits.
        """
        B, N = mask.shape
        mask = mask.bool()
        if num_masked is None:
            num_masked = count_per_row(mask)
        masked_slots = torch.cat([mask.new_zeros(B, 1), mask], dim=1).unsqueeze(-1)
        x = torch.where(masked_slots, self.mask_token, self.embed(features))
        # The class slot carries the mask token or the label; only its position embedding and
        # attention tell it apart from masked positions.
        x = torch.cat([self.class_slot(labels, B).expand(B, 1, -1), x[:, 1:]], dim=1)
        pos = torch.where(masked_slots, self.pos_embed_masked, self.pos_embed_visible)

        # The U visible positions of each row in grid order, gathered by index: a boolean
        # index would read its size back from the device.
        visible = mask.to(torch.uint8).argsort(dim=1, stable=True)[:, :N - num_masked]
        appended = self.token_embed(token_ids.gather(1, visible))
        appended_pos = F.embedding(visible, self.pos_embed_appended[0, 1:])
        x = torch.cat([x + pos, appended + appended_pos], dim=1)
        for block in self.blocks:
            x = block(x)
        # Detached as released: the MLM layer does not train the token embedding.
        logits = self.mlm(self.norm(x[:, 1:1 + N]), self.token_embed.weight.detach())
        return DecoderOutput(logits, self.codebook_size)
