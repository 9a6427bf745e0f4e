"""The MAGE token predictor, a frozen target generator over VQ token indices."""
from typing import Optional, Union

import torch
import torch.nn as nn

from addp.errors import InvalidInputError
from addp.registry import MODELS

from ..layers import (
    TiedMLMLayer,
    TransformerBlock,
    class_slot_ids,
    count_per_row,
    init_linear_and_norm,
)
from .frozen import FrozenModule

MAGE_ARCHS = {
    'b': dict(embed_dims=768, num_layers=12, num_heads=12,
              decoder_embed_dims=768, decoder_num_layers=8, decoder_num_heads=16),
    'l': dict(embed_dims=1024, num_layers=24, num_heads=16,
              decoder_embed_dims=1024, decoder_num_layers=8, decoder_num_heads=16),
}


class BertEmbedding(nn.Module):
    """Word plus learned position embedding, then LayerNorm and dropout (MAGE's names)."""

    def __init__(self, vocab_size: int, dim: int, num_positions: int, drop: float = 0.1) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, dim)
        self.position_embeddings = nn.Embedding(num_positions, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=1e-6)
        self.dropout = nn.Dropout(drop)
        # Persistent because the released checkpoints store it.
        self.register_buffer('position_ids', torch.arange(num_positions).expand((1, -1)))

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        positions = self.position_ids[:, :token_ids.shape[1]]
        x = self.word_embeddings(token_ids) + self.position_embeddings(positions)
        return self.dropout(self.LayerNorm(x))


@MODELS.register_module()
class MAGETokenPredictor(FrozenModule):
    """Frozen MAGE encoder-decoder that predicts masked VQ tokens from visible ones.

    Masked positions take the mask token id. A fake class token sits in front of the sequence,
    as MAGE was trained. In the decoder, masked positions are replaced by the class slot's
    feature, MAGE's ``pad_with_cls_token``.

    Class conditioning (``class_conditional=True``) puts the label in that front token, as
    RCG's ``--use_class_label`` does: its vocabulary id is the label's class slot ``K + c``,
    which the vocabulary reserves after the K codes. The front token's feature is what every
    masked position reads in the decoder, so the label reaches each prediction without a new
    parameter. A missing or dropped label is the mask token, an unknown class as a masked
    token is an unknown code. Unconditional models keep the fake class token and compute
    exactly as released.

    Args:
        arch (str | dict): ``'b'``, ``'l'`` or a dict with ``embed_dims``, ``num_layers``,
            ``num_heads``, ``decoder_embed_dims``, ``decoder_num_layers``, ``decoder_num_heads``.
        num_patches (int): Token grid size h * w. Released: 256.
        codebook_size (int): K. Released: 1024.
        num_classes (int): Class slots in the vocabulary; unconditional MAGE reads slot 76
            (released: 1000). A class-conditional model knows classes 0 .. num_classes - 1.
        mlp_ratio (float): MLP width ratio.
        drop_rate (float): Dropout; active only while the module is trained.
        checkpoint (str, optional): ``mage-vit{b,l}-1600.pth`` or a file holding this module.
        frozen (bool): False where the ``MAGE`` algorithm trains this module.
        class_conditional (bool): Read class labels in the front token.
        init_cfg (dict, optional): Unused; the weights come from ``checkpoint``.
    """

    # A file may hold MAGE alone or a whole official ADDP model (``token_predictor.``).
    checkpoint_prefixes = ('', 'token_predictor.')
    # MAGE's pixel-side and reconstruction parts, and its own VQGAN copy, which it never uses here.
    ignored_checkpoint_keys = (r'vqgan\..*', r'cls_token', r'pos_embed', r'mask_token',
                               r'decoder_pos_embed', r'patch_embed\..*', r'decoder_pred\..*')

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 num_patches: int = 256,
                 codebook_size: int = 1024,
                 num_classes: int = 1000,
                 mlp_ratio: float = 4.,
                 drop_rate: float = 0.1,
                 checkpoint: Optional[str] = None,
                 frozen: bool = True,
                 class_conditional: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(frozen=frozen, init_cfg=init_cfg)
        arch = MAGE_ARCHS[arch] if isinstance(arch, str) else arch
        dim, dec_dim = arch['embed_dims'], arch['decoder_embed_dims']
        self.codebook_size = codebook_size
        self.num_patches = num_patches
        self.num_classes = num_classes
        self.class_conditional = class_conditional
        vocab_size = codebook_size + num_classes + 1
        self.mask_token_id = vocab_size - 1
        # MAGE's fixed "fake class" id, codebook_size + 1100 - 1024: class slot 76.
        if not class_conditional and num_classes <= 76:
            raise InvalidInputError(
                f'num_classes must exceed 76, the class slot MAGE uses as its fake '
                f'class token; got {num_classes}')
        self.fake_class_id = codebook_size + 76

        self.token_emb = BertEmbedding(vocab_size, dim, num_patches + 1, drop_rate)
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, arch['num_heads'], mlp_ratio, drop=drop_rate, attn_drop=drop_rate)
            for _ in range(arch['num_layers']))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.decoder_embed = nn.Linear(dim, dec_dim)
        self.decoder_pos_embed_learned = nn.Parameter(torch.zeros(1, num_patches + 1, dec_dim))
        self.decoder_blocks = nn.ModuleList(
            TransformerBlock(dec_dim, arch['decoder_num_heads'], mlp_ratio, drop=drop_rate,
                             attn_drop=drop_rate) for _ in range(arch['decoder_num_layers']))
        self.decoder_norm = nn.LayerNorm(dec_dim, eps=1e-6)
        self.mlm_layer = TiedMLMLayer(dec_dim, dim, vocab_size)

        self.freeze(checkpoint)

    def init_trainable_weights(self) -> None:
        """MAGE's initialisation: embeddings N(0, 0.02), xavier-uniform linears, unit norms."""
        init_linear_and_norm(self)
        for weight in (self.token_emb.word_embeddings.weight,
                       self.token_emb.position_embeddings.weight, self.decoder_pos_embed_learned):
            nn.init.normal_(weight, std=.02)

    def front_token_ids(self, batch_size: int, labels: Optional[torch.Tensor],
                        device: torch.device) -> torch.Tensor:
        """(B, 1) ids of the front token: the fake class, or the labels' class slots."""
        if labels is not None and not self.class_conditional:
            raise InvalidInputError(
                'this token predictor is unconditional and takes no class labels; train one '
                'with class_conditional=True '
                '(projects/digits_study/configs/mage_tiny_digits_cond.py)')
        if not self.class_conditional:
            return torch.full((batch_size, 1), self.fake_class_id, device=device)
        if labels is None:
            return torch.full((batch_size, 1), self.mask_token_id, device=device)
        return class_slot_ids(labels.to(device, non_blocking=True), self.codebook_size,
                              self.mask_token_id).view(batch_size, 1)

    def logits(self, token_ids: torch.Tensor, mask: torch.Tensor,
               drop_mask: Optional[torch.Tensor] = None,
               labels: Optional[torch.Tensor] = None,
               num_dropped: Optional[int] = None) -> torch.Tensor:
        """Logits over the whole vocabulary, class slot first.

        Args:
            token_ids (Tensor): Code indices (B, N).
            mask (Tensor): (B, N), true where the token is masked.
            drop_mask (Tensor, optional): (B, N), true where a masked token is also left out
                of the encoder input, as MAGE trains; the same count in every row.
            labels (Tensor, optional): (B,) classes of a class-conditional model; -1 or None
                for the unconditional path.
            num_dropped (int, optional): Tokens dropped in every row, where the caller knows
                it on the host; None reads it from ``drop_mask`` (on a GPU, waiting for it).

        Returns:
            Tensor: (B, 1 + N, V) with V = codebook + classes + mask token.
        """
        mask = mask.bool()
        token_ids = token_ids.masked_fill(mask, self.mask_token_id)
        cls_ids = self.front_token_ids(token_ids.shape[0], labels, token_ids.device)
        x = self.token_emb(torch.cat([cls_ids, token_ids], dim=1))
        kept = None
        if drop_mask is not None:
            dropped = torch.cat([drop_mask.new_zeros(drop_mask.shape[0], 1), drop_mask.bool()], 1)
            if num_dropped is None:
                num_dropped = count_per_row(dropped, 'drop')
            # The kept positions of each row in order, gathered by index: a boolean index would
            # read its size back from the device.
            kept = dropped.to(torch.uint8).argsort(dim=1, stable=True)
            kept = kept[:, :dropped.shape[1] - num_dropped].unsqueeze(-1)
            x = x.gather(1, kept.expand(-1, -1, x.shape[-1]))
        for block in self.blocks:
            x = block(x)
        x = self.decoder_embed(self.norm(x))
        if kept is not None:
            # Dropped positions come back as the class slot's feature, like masked ones.
            padded = x[:, :1].expand(-1, token_ids.shape[1] + 1, -1)
            x = padded.scatter(1, kept.expand(-1, -1, x.shape[-1]), x)

        cls_mask = torch.cat([mask.new_zeros(mask.shape[0], 1), mask], dim=1)
        x = torch.where(cls_mask.unsqueeze(-1), x[:, :1], x) + self.decoder_pos_embed_learned
        for block in self.decoder_blocks:
            x = block(x)
        # MAGE ties the logits to a detached copy of the word embeddings.
        return self.mlm_layer(self.decoder_norm(x),
                              self.token_emb.word_embeddings.weight.detach())

    @torch.no_grad()
    def forward(self, token_ids: torch.Tensor, mask: torch.Tensor,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Predicts the distribution over codes at every position.

        Args:
            token_ids (Tensor): Code indices (B, N).
            mask (Tensor): (B, N), true where the token is masked.
            labels (Tensor, optional): (B,) classes of a class-conditional model.

        Returns:
            Tensor: Softmax over the K codes, shape (B, N, K).
        """
        # fp32 even under autocast: the distribution is a training target.
        logits = self.logits(token_ids, mask, labels=labels)[:, 1:, :self.codebook_size]
        return logits.float().softmax(dim=-1)
