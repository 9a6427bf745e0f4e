"""The ADDP pretraining loss: soft-target cross-entropy on the masked tokens."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from addp.registry import MODELS


@MODELS.register_module()
class MaskedSoftCrossEntropyLoss(nn.Module):
    """Cross-entropy against a target distribution or index, averaged over the masked positions.

    Args:
        label_smoothing (float): Mixes the target with the uniform distribution over the
            logits' classes, as ``torch.nn.CrossEntropyLoss`` does. Released: 0.1.
    """

    def __init__(self, label_smoothing: float = 0.1) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, target: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """Args:
            logits (Tensor): (B, N, V).
            target (Tensor): Probabilities (B, N, V), or class indices (B, N).
            mask (Tensor): (B, N); 1 where the loss counts.

        Returns:
            Tensor: Scalar loss.
        """
        loss = F.cross_entropy(logits.flatten(0, 1), target.flatten(0, 1),
                               reduction='none', label_smoothing=self.label_smoothing)
        mask = mask.flatten().to(loss.dtype)
        return (loss * mask).sum() / mask.sum()


@MODELS.register_module()
class ADDPPretrainHead(BaseModule):
    """Selects the token positions of the decoder output and pads the target to the vocabulary.

    Args:
        loss (dict): Config of the loss. Defaults to ``MaskedSoftCrossEntropyLoss``.
        init_cfg (dict, optional): MMEngine initialisation config.
    """

    def __init__(self, loss: dict = dict(type='MaskedSoftCrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_module = MODELS.build(loss)

    def loss(self, logits: torch.Tensor, target: torch.Tensor,
             mask: torch.Tensor) -> torch.Tensor:
        """Args:
            logits (Tensor): Decoder output (B, 1 + N + U, V).
            target (Tensor): Token predictor distribution (B, N, K), K <= V.
            mask (Tensor): (B, N), true where the token is masked at step t.

        Returns:
            Tensor: Scalar loss.
        """
        num_tokens, codebook_size = target.shape[1:]
        token_logits = logits[:, 1:1 + num_tokens]
        target = F.pad(target, (0, token_logits.shape[-1] - codebook_size))
        return self.loss_module(token_logits, target, mask)
