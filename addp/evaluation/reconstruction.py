"""Held-out reconstruction quality and codebook use of a trained tokenizer."""
from typing import List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from addp.models.algorithms.vqgan import histogram_perplexity
from addp.registry import METRICS


@METRICS.register_module()
class ReconstructionMetric(BaseMetric):
    """PSNR and codebook usage of the ``VQGAN`` model's predictions on a validation set.

    Reads per image ``psnr`` (dB) and ``code_counts`` (K, ). Reports the mean ``psnr``,
    ``codebook_usage`` (the share of the K codes used anywhere in the set) and
    ``perplexity`` (exp of the entropy of the code histogram: at most K).
    """

    default_prefix = 'tokenizer'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append((float(sample['psnr']), sample['code_counts'].cpu()))

    def compute_metrics(self, results: List) -> dict:
        counts = torch.stack([c for _, c in results]).sum(0)
        return dict(psnr=sum(p for p, _ in results) / len(results),
                    codebook_usage=float((counts > 0).double().mean()),
                    perplexity=float(histogram_perplexity(counts)))
