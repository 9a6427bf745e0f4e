"""What the tokenizer and the samples are measured by: reconstruction PSNR and code use.

A leaf module (torch only), so that models, evaluation and tools all read one definition.
"""
import torch


def psnr(images: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image of (B, 3, H, W) pixels in [0, 1]."""
    mse = (images.clamp(0, 1) - reference).pow(2).flatten(1).mean(1)
    return -10. * torch.log10(mse.clamp(min=1e-10))


def mean_image_psnr(images: torch.Tensor) -> torch.Tensor:
    """Mean PSNR (dB) of (B, 3, H, W) images against their own mean image: what a tokenizer
    that learned nothing scores."""
    return psnr(images.mean(0, keepdim=True), images).mean()


def histogram_perplexity(counts: torch.Tensor) -> torch.Tensor:
    """exp(entropy) of a code histogram (K, ): K when every code is used equally, 1 when one
    is."""
    probs = counts.double() / counts.sum()
    return torch.exp(-(probs * torch.log(probs.clamp(min=1e-12))).sum())


def code_counts(indices: torch.Tensor, num_codes: int) -> torch.Tensor:
    """(K, ) int64: how often each code appears in ``indices``.

    Summed with ``index_add_`` rather than ``torch.bincount``, which on a GPU reads the
    largest index back to size its output, waiting for the device.
    """
    flat = indices.flatten()
    return flat.new_zeros(num_codes).index_add_(0, flat, torch.ones_like(flat))


def code_perplexity(indices: torch.Tensor, num_codes: int) -> torch.Tensor:
    """:func:`histogram_perplexity` of the codes ``indices`` use."""
    return histogram_perplexity(code_counts(indices, num_codes)).float()
