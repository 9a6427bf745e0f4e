"""MaskGIT-style sampling with the token predictor alone, the generation baseline."""
import torch

from addp.models.sampling import ADDPSampler, TokenPredictorSamplingModel


def test_token_predictor_sampling_reads_tokens_only(tiny_model):
    model = TokenPredictorSamplingModel(tiny_model.tokenizer, tiny_model.token_predictor).eval()
    torch.manual_seed(0)
    tokens = torch.randint(0, 64, (2, 64))
    mask = torch.rand(2, 64) < 0.5
    logits = model.predict_token_logits(torch.rand(2, 3, 32, 32), tokens, mask)
    expected = tiny_model.token_predictor.logits(tokens, mask)[:, 1:, :64]
    torch.testing.assert_close(logits, expected)
    other_pixels = model.predict_token_logits(torch.zeros(2, 3, 32, 32), tokens, mask)
    assert torch.equal(logits, other_pixels)

    sampler = ADDPSampler(num_steps=4)
    generators = [torch.Generator().manual_seed(i) for i in range(2)]
    state = sampler.generate(model, torch.zeros(2, 64, dtype=torch.long),
                             torch.ones(2, 64, dtype=torch.bool), (32, 32), generators)
    assert state.pixels.shape == (2, 3, 32, 32)
    assert 0 <= int(state.token_ids.min()) and int(state.token_ids.max()) < 64
    generators = [torch.Generator().manual_seed(i) for i in range(2)]
    again = sampler.generate(model, torch.zeros(2, 64, dtype=torch.long),
                             torch.ones(2, 64, dtype=torch.bool), (32, 32), generators)
    assert torch.equal(state.token_ids, again.token_ids)
