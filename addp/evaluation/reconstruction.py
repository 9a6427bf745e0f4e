"""Held-out reconstruction quality and codebook use of a trained tokenizer."""
from typing import List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from addp.metrics import histogram_perplexity, mean_image_psnr
from addp.registry import METRICS


@METRICS.register_module()
class ReconstructionMetric(BaseMetric):
    """PSNR and codebook usage of the ``VQGAN`` model's predictions on a validation set.

    Reads per image ``psnr`` (dB) and ``code_counts`` (K, ), and the batch's uint8 images. It
    reports the mean ``psnr``, ``psnr_mean_image`` (the mean PSNR of the same images against
    their own mean image: a tokenizer that learned nothing scores about that),
    ``codebook_usage`` (the share of the K codes used anywhere in the set) and ``perplexity``
    (exp of the entropy of the code histogram: at most K).

    Args:
        max_baseline_images (int): The mean-image baseline reads at most this many images,
            kept as uint8 (at 256 px, 512 images take 100 MB).
    """

    default_prefix = 'tokenizer'

    def __init__(self, max_baseline_images: int = 512, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_baseline_images = max_baseline_images
        self.num_kept_images = 0

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        images = data_batch['inputs']
        for i, sample in enumerate(data_samples):
            image = None
            if self.num_kept_images < self.max_baseline_images:
                image = images[i].detach().cpu()
                self.num_kept_images += 1
            self.results.append((float(sample['psnr']), sample['code_counts'].cpu(), image))

    def evaluate(self, size: int) -> dict:
        try:
            return super().evaluate(size)
        finally:
            # Every rank starts its next baseline afresh; compute_metrics runs on rank 0 only.
            self.num_kept_images = 0

    def compute_metrics(self, results: List) -> dict:
        counts = torch.stack([c for _, c, _ in results]).sum(0)
        images = torch.stack([i for _, _, i in results if i is not None]).float() / 255.
        return dict(psnr=sum(p for p, _, _ in results) / len(results),
                    psnr_mean_image=float(mean_image_psnr(images)),
                    codebook_usage=float((counts > 0).double().mean()),
                    perplexity=float(histogram_perplexity(counts)))
