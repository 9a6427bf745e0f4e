"""The fast paths compute what the plain ones do: batched token-predictor passes, the skipped
encoder on a blank canvas, channels-last VQGAN, activation checkpointing, torch.compile and
bf16 autocast (to a stated tolerance)."""
import copy

import pytest
import torch

from addp.models.sampling import ADDPSampler
from addp.registry import MODELS


def _loss_and_grads(model, images, seed=1):
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    loss = model.loss(images)['loss']
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                           if p.grad is not None}


def test_batched_token_predictor_passes_match_two_passes(tiny_model):
    tiny_model.train()
    images = torch.rand(2, 3, 32, 32)
    token_ids, _ = tiny_model.tokenizer.encode(images)
    torch.manual_seed(1)
    mask_t, mask_next, _, _ = tiny_model.mask_generator(*token_ids.shape)
    predictor = tiny_model.token_predictor
    probs_next, target = predictor(token_ids.repeat(2, 1), torch.cat([mask_next, mask_t])).chunk(2)
    torch.testing.assert_close(probs_next, predictor(token_ids, mask_next), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(target, predictor(token_ids, mask_t), rtol=1e-5, atol=1e-6)


def test_blank_canvas_skips_the_encoder_and_changes_nothing(tiny_model):
    tiny_model.eval()
    sampler = ADDPSampler(num_steps=4)
    token_ids = torch.zeros(2, 64, dtype=torch.long)
    mask = torch.ones(2, 64, dtype=torch.bool)
    state = sampler.initial_state(tiny_model, token_ids, mask, (32, 32))
    assert not state.pixels.any()  # nothing decoded: nothing is known yet
    with torch.no_grad():
        reference = tiny_model.neck(tiny_model.extract_feat(torch.rand(2, 3, 32, 32)), token_ids,
                                    mask).code_logits
    encoder = tiny_model.backbone.forward
    tiny_model.backbone.forward = lambda *args: pytest.fail('the encoder ran')
    try:
        with torch.no_grad():
            logits = tiny_model.predict_token_logits(state.pixels, token_ids, mask)
    finally:
        tiny_model.backbone.forward = encoder
    assert torch.equal(logits, reference)


def test_channels_last_vqgan_equals_contiguous(tiny_model):
    tokenizer = tiny_model.tokenizer
    assert tokenizer.decoder.conv_out.weight.is_contiguous(memory_format=torch.channels_last)
    contiguous = copy.deepcopy(tokenizer).to(memory_format=torch.contiguous_format)
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        ids, latent = tokenizer.encode(images)
        pixels = tokenizer.decode(latent)
        assert pixels.is_contiguous(memory_format=torch.channels_last)
        ids_plain, latent_plain = contiguous.encode(images)
        pixels_plain = contiguous.decode(latent_plain)
        # The activations follow the weights' layout (tools/benchmark.py --vqgan-layout).
        assert pixels_plain.is_contiguous() and not pixels_plain.is_contiguous(
            memory_format=torch.channels_last)
    assert torch.equal(ids, ids_plain)
    torch.testing.assert_close(latent, latent_plain)
    torch.testing.assert_close(pixels, pixels_plain, rtol=1e-5, atol=1e-5)


def test_activation_checkpointing_gives_the_same_loss_and_gradients(tiny_cfg):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['backbone'].update(drop_rate=0.1)  # dropout too: the recomputation must replay it
    torch.manual_seed(0)
    plain = MODELS.build(cfg)
    plain.init_weights()
    cfg['backbone']['with_cp'] = cfg['neck']['with_cp'] = True
    checkpointed = MODELS.build(cfg)
    checkpointed.load_state_dict(plain.state_dict(), strict=False)
    assert checkpointed.backbone.blocks[0].with_cp and checkpointed.neck.blocks[0].with_cp
    images = torch.rand(2, 3, 32, 32)
    loss, grads = _loss_and_grads(plain.train(), images)
    loss_cp, grads_cp = _loss_and_grads(checkpointed.train(), images)
    torch.testing.assert_close(loss_cp, loss, rtol=1e-6, atol=1e-6)
    assert grads_cp.keys() == grads.keys()
    for name in grads:
        torch.testing.assert_close(grads_cp[name], grads[name], rtol=1e-5, atol=1e-6)


def test_compiled_networks_give_the_same_loss(tiny_model):
    tiny_model.train()
    images = torch.rand(2, 3, 32, 32)
    loss, _ = _loss_and_grads(tiny_model, images)
    compiled = copy.deepcopy(tiny_model)
    # aot_eager traces and partitions forward and backward as inductor does, without codegen.
    compiled.backbone.compile(backend='aot_eager')
    compiled.neck.compile(backend='aot_eager')
    loss_compiled, _ = _loss_and_grads(compiled, images)
    torch.testing.assert_close(loss_compiled, loss, rtol=1e-5, atol=1e-5)


def test_bf16_autocast_stays_close_to_fp32_and_keeps_fp32_where_it_matters(tiny_model):
    tiny_model.train()
    images = torch.rand(4, 3, 32, 32)
    torch.manual_seed(1)
    loss = tiny_model.loss(images)['loss']
    with torch.autocast('cpu', dtype=torch.bfloat16):
        torch.manual_seed(1)
        loss_bf16 = tiny_model.loss(images)['loss']
        probs = tiny_model.token_predictor(torch.zeros(1, 64, dtype=torch.long),
                                           torch.ones(1, 64, dtype=torch.bool))
    assert loss_bf16.dtype == probs.dtype == torch.float32
    torch.testing.assert_close(probs.sum(-1), torch.ones(1, 64))
    # bf16 keeps 8 bits of mantissa; the loss stays within 1% of fp32.
    assert abs(float(loss_bf16) - float(loss)) < 1e-2 * float(loss)

    tiny_model.eval()
    state = ADDPSampler(num_steps=4).initial_state(
        tiny_model, torch.zeros(2, 64, dtype=torch.long), torch.rand(2, 64) < 0.5, (32, 32))
    with torch.no_grad():
        logits = tiny_model.predict_token_logits(state.pixels, state.token_ids, state.mask)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            logits_bf16 = tiny_model.predict_token_logits(state.pixels, state.token_ids,
                                                          state.mask).float()
    assert (logits_bf16 - logits).norm() < 5e-2 * logits.norm()
