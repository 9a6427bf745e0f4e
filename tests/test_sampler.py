"""Mask schedules and the sampling step."""
import math

import pytest
import torch

from addp.models import ADDPSampler, num_masked_after_step


@pytest.mark.parametrize('schedule', ['cosine', 'linear'])
def test_mask_counts_per_step(schedule):
    num_steps, n = 20, 256
    ratio = {'cosine': lambda r: math.cos(math.pi / 2 * r), 'linear': lambda r: 1 - r}[schedule]
    masked = torch.tensor([n])
    counts = []
    for step in range(num_steps):
        masked = num_masked_after_step(step, num_steps, torch.tensor([n]), masked, schedule)
        counts.append(int(masked))
    expected = [max(1, math.ceil(n * ratio((s + 1) / num_steps))) for s in range(num_steps)]
    assert counts == expected
    assert counts == sorted(counts, reverse=True) and counts[-1] == 1


def test_counts_never_exceed_what_is_masked_now():
    counts = num_masked_after_step(0, 20, torch.tensor([64, 64]), torch.tensor([10, 0]), 'cosine')
    assert counts.tolist() == [10, 0]


def test_unknown_options_are_rejected():
    with pytest.raises(ValueError, match='schedule'):
        ADDPSampler(schedule='square')
    with pytest.raises(ValueError, match='sampling'):
        ADDPSampler(sampling='beam')


@pytest.mark.parametrize('schedule', ['cosine', 'linear'])
def test_generation_follows_schedule_and_keeps_known_tokens(tiny_model, schedule):
    model = tiny_model.eval()
    sampler = ADDPSampler(num_steps=6, schedule=schedule)
    torch.manual_seed(0)
    known = torch.randint(0, 64, (2, 64))
    mask = torch.ones(2, 64, dtype=torch.bool)
    mask[:, :24] = False  # 24 known tokens, 40 to generate
    state = sampler.initial_state(model, known, mask, (32, 32))
    num_unknown = mask.sum(1)
    generators = [torch.Generator().manual_seed(i) for i in range(2)]
    for step in range(sampler.num_steps):
        previous = state
        state = sampler.step(model, state, step, num_unknown, generators)
        expected = num_masked_after_step(step, 6, num_unknown, previous.mask.sum(1), schedule)
        assert torch.equal(state.mask.sum(1), expected)
        assert not (state.mask & ~previous.mask).any(), 'a fixed token was masked again'
        fixed = ~previous.mask
        assert torch.equal(state.token_ids[fixed], previous.token_ids[fixed])
        assert state.pixels.shape == (2, 3, 32, 32)
    assert torch.equal(state.token_ids[:, :24], known[:, :24])


def test_top_p_keeps_only_the_nucleus():
    sampler = ADDPSampler(sampling='top_p', top_p=0.5)
    logits = torch.log(torch.tensor([[[0.6, 0.3, 0.1]]]))
    for seed in range(20):
        uniform = torch.rand(1, 1, 3, generator=torch.Generator().manual_seed(seed))
        noise = -torch.log(-torch.log(uniform))
        assert int(sampler.sample_tokens(logits, noise)) == 0


def test_sampling_is_per_sample_deterministic(tiny_model):
    model = tiny_model.eval()
    sampler = ADDPSampler(num_steps=3)
    ids = torch.zeros(3, 64, dtype=torch.long)
    mask = torch.ones(3, 64, dtype=torch.bool)
    together = sampler.generate(model, ids, mask, (32, 32),
                                [torch.Generator().manual_seed(i) for i in range(3)])
    alone = sampler.generate(model, ids[2:], mask[2:], (32, 32), [torch.Generator().manual_seed(2)])
    assert torch.equal(together.token_ids[2:], alone.token_ids)
    assert not torch.equal(together.token_ids[0], together.token_ids[1])
