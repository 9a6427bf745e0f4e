"""The masked-token prediction layer shared by the ADDP decoder and the MAGE token predictor."""
import torch
import torch.nn as nn


class TiedMLMLayer(nn.Module):
    """``LayerNorm(GELU(fc(x))) @ word_embeddings.T + bias``: logits tied to a token embedding.

    Args:
        in_dim (int): Width of the incoming features.
        word_dim (int): Width of the word embeddings.
        vocab_size (int): Number of logits per position.
    """

    def __init__(self, in_dim: int, word_dim: int, vocab_size: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, word_dim)
        self.gelu = nn.GELU()
        self.ln = nn.LayerNorm(word_dim)
        self.bias = nn.Parameter(torch.zeros(1, 1, vocab_size))

    def forward(self, x: torch.Tensor, word_embeddings: torch.Tensor) -> torch.Tensor:
        """Args:
            x (Tensor): (B, L, in_dim).
            word_embeddings (Tensor): (vocab_size, word_dim).

        Returns:
            Tensor: Logits (B, L, vocab_size).
        """
        return self.ln(self.gelu(self.fc(x))) @ word_embeddings.t() + self.bias
