"""Nested training masks and their ratio distribution."""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from addp.models import NestedMaskGenerator


def _official_weights(num_steps=100, low=0.5, high=1.0, mu=0.55, std=0.25):
    """The ratio table and weights the official recipe describes, computed with scipy."""
    ratios = [math.cos(math.pi / 2 * s / num_steps) for s in range(num_steps + 1)]
    ratios = sorted(r for r in ratios if low <= r < high)
    pdf = stats.truncnorm((low - mu) / std, (high - mu) / std, loc=mu, scale=std).pdf(ratios)
    return np.array(ratios), pdf / pdf.sum()


def test_ratio_table_and_weights_match_truncated_normal():
    generator = NestedMaskGenerator()
    ratios, weights = _official_weights()
    np.testing.assert_allclose(generator.ratios.numpy(), ratios, rtol=1e-6)
    np.testing.assert_allclose(generator.probs.numpy(), weights, rtol=1e-5)


def test_masks_are_nested_with_exact_counts():
    generator = NestedMaskGenerator()
    g = torch.Generator().manual_seed(0)
    ratios = generator.ratios
    for _ in range(50):
        mask_t, mask_next, ratio, num_masked = generator(4, 256, generator=g)
        assert mask_t.dtype == torch.bool and mask_t.shape == (4, 256)
        assert not (mask_t & ~mask_next).any()
        num_t = mask_t.sum(1)
        assert (num_t == math.ceil(256 * float(ratio) - 1e-9)).all()
        assert (num_t == num_masked).all()
        idx = int((ratios == ratio).nonzero())
        next_counts = {math.ceil(256 * float(ratios[min(idx + k, len(ratios) - 1)]) - 1e-9)
                       for k in range(1, 6)}
        assert int(mask_next.sum(1)[0]) in next_counts
        assert (mask_next.sum(1) == mask_next.sum(1)[0]).all()
        assert (mask_next.sum(1) >= num_t).all()


def test_sampled_ratio_histogram_follows_weights():
    generator = NestedMaskGenerator()
    g = torch.Generator().manual_seed(1)
    draws = 20000
    counts = torch.zeros(len(generator.ratios))
    for _ in range(draws):
        ratio = generator(1, 16, generator=g).mask_ratio
        counts[int((generator.ratios == ratio).nonzero())] += 1
    _, weights = _official_weights()
    expected = weights * draws
    chi2 = float((((counts.numpy() - expected)**2) / expected).sum())
    # A false alarm at most once in a thousand seeds; the seed is fixed, so it is stable.
    assert chi2 < stats.chi2.ppf(0.999, len(weights) - 1), chi2


def test_empty_ratio_range_is_an_error():
    with pytest.raises(ValueError, match='no schedule point'):
        NestedMaskGenerator(ratio_min=0.999, ratio_max=0.9995)
