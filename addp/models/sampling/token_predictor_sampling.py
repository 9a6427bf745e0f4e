"""MaskGIT-style sampling with the token predictor alone: MAGE's own generation.

The paper compares ADDP's samples with MAGE's (FID 8.9 against 11.1 at ViT-B). Wrapped here,
the token predictor answers the one question :class:`ADDPSampler` asks of a model, so both are
sampled by the same loop and recipe; it reads the visible tokens and ignores the pixels.
"""
from typing import Optional

import torch
from torch import nn


class TokenPredictorSamplingModel(nn.Module):
    """The tokenizer and token predictor in the interface :class:`ADDPSampler` samples.

    Args:
        tokenizer (nn.Module): The frozen tokenizer that decodes tokens to pixels.
        token_predictor (nn.Module): The frozen MAGE token predictor.
    """

    def __init__(self, tokenizer: nn.Module, token_predictor: nn.Module) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.token_predictor = token_predictor

    @property
    def class_conditional(self) -> bool:
        """Whether sampling may ask for classes."""
        return self.token_predictor.class_conditional

    @property
    def num_classes(self) -> int:
        """The classes a class-conditional predictor knows."""
        return self.token_predictor.num_classes

    @torch.no_grad()
    def predict_token_logits(self, pixels: torch.Tensor, token_ids: torch.Tensor,
                             mask: torch.Tensor, labels: Optional[torch.Tensor] = None,
                             num_masked: Optional[int] = None) -> torch.Tensor:
        """Logits (B, N, K) over the K codes from the visible tokens (and the classes of a
        class-conditional predictor); ``pixels`` and ``num_masked`` are unused.

        Args:
            pixels (Tensor): (B, 3, H, W), unused.
            token_ids (Tensor): (B, N) code indices.
            mask (Tensor): (B, N), true where masked.
            labels (Tensor, optional): (B,) or (R * B,) classes, row r * B + i for image i.
            num_masked (int, optional): Unused: the predictor masks without gathering.

        Returns:
            Tensor: (B, N, K), or (R * B, N, K) with R label rows per image.
        """
        if labels is not None and labels.shape[0] != token_ids.shape[0]:
            num_rows = labels.shape[0] // token_ids.shape[0]
            token_ids, mask = token_ids.repeat(num_rows, 1), mask.repeat(num_rows, 1)
        codebook_size = self.token_predictor.codebook_size
        logits = self.token_predictor.logits(token_ids, mask, labels=labels)
        return logits[:, 1:, :codebook_size].float()
