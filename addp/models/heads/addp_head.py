"""The ADDP pretraining loss: soft-target cross-entropy on the masked tokens."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from addp.registry import MODELS

from ..necks.addp_decoder import DecoderOutput


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
    """The loss of the decoder's output against the token predictor, padded to the vocabulary.

    Args:
        loss (dict): Config of the loss. Defaults to ``MaskedSoftCrossEntropyLoss``.
        init_cfg (dict, optional): MMEngine initialisation config.
    """

    def __init__(self, loss: dict = dict(type='MaskedSoftCrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_module = MODELS.build(loss)

    def loss(self, prediction: DecoderOutput, target: torch.Tensor,
             mask: torch.Tensor) -> torch.Tensor:
        """Args:
            prediction (DecoderOutput): Logits (B, N, V) of the decoder.
            target (Tensor): Token predictor distribution (B, N, K), K <= V.
            mask (Tensor): (B, N), true where the token is masked at step t.

        Returns:
            Tensor: Scalar loss.
        """
        logits = prediction.logits.float()  # the loss in fp32 even under autocast
        target = F.pad(target, (0, logits.shape[-1] - target.shape[-1]))
        return self.loss_module(logits, target, mask)
