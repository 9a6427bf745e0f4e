"""Training the tokenizer and the token predictor: masks, losses, codebook upkeep, layouts."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import truncnorm

from addp.checkpoint import export_released_part
from addp.evaluation import ReconstructionMetric
from addp.models import MAGE, VQGAN, CodebookReviver, TruncatedNormalMaskGenerator
from addp.models.algorithms.codebook_reviver import kmeans
from addp.models.target_generators.interface import TokenInterfaceError
from addp.registry import MODELS
from addp.testing import TINY_MAGE, TINY_VQGAN

TINY_PREDICTOR = dict(TINY_MAGE, num_patches=64, codebook_size=64)


def _trainable_predictor(seed=0):
    torch.manual_seed(seed)
    predictor = MODELS.build(dict(TINY_PREDICTOR, frozen=False))
    predictor.init_weights()
    return predictor


def test_trainable_parts_train_and_frozen_parts_do_not():
    predictor = _trainable_predictor()
    predictor.train()
    assert predictor.training and all(p.requires_grad for p in predictor.parameters())
    frozen = MODELS.build(TINY_PREDICTOR)
    frozen.train()
    assert not frozen.training and not any(p.requires_grad for p in frozen.parameters())
    # MAGE's initialisation: N(0, 0.02) embeddings, zero linear biases.
    assert predictor.token_emb.word_embeddings.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert torch.count_nonzero(predictor.decoder_embed.bias) == 0


def test_dropped_tokens_are_never_read():
    predictor = _trainable_predictor().eval()
    ids = torch.randint(0, 64, (2, 64))
    mask = torch.zeros(2, 64, dtype=torch.bool)
    mask[:, :40] = True
    drop = torch.zeros_like(mask)
    drop[:, :32] = True
    logits = predictor.logits(ids, mask, drop)
    assert logits.shape == (2, 65, 64 + 100 + 1)
    changed = ids.clone()
    changed[:, :40] = (changed[:, :40] + 7) % 64
    assert torch.equal(logits, predictor.logits(changed, mask, drop))
    # Without dropping, masked-but-kept tokens still reach the encoder as the mask id.
    assert not torch.allclose(logits, predictor.logits(ids, mask))
    assert torch.allclose(predictor(ids, mask),
                          predictor.logits(ids, mask)[:, 1:, :64].softmax(-1))


def test_mask_ratios_follow_the_truncated_normal():
    generator = TruncatedNormalMaskGenerator()
    torch.manual_seed(0)
    ratios = []
    for _ in range(2000):
        mask, drop, ratio, num_dropped = generator(2, 256)
        ratios.append(ratio)
    assert mask.sum(1).tolist() == [math.ceil(256 * ratio)] * 2
    assert drop.sum(1).tolist() == [128, 128] == [num_dropped] * 2
    assert bool((mask | ~drop).all())
    reference = truncnorm((0.5 - 0.55) / 0.25, (1.0 - 0.55) / 0.25, loc=0.55, scale=0.25)
    assert min(ratios) >= 0.5 and max(ratios) <= 1.0
    assert np.mean(ratios) == pytest.approx(reference.mean(), abs=0.01)
    assert np.std(ratios) == pytest.approx(reference.std(), abs=0.01)


def test_mage_loss_is_label_smoothed_ce_over_the_codes_at_masked_tokens(tiny_frozen_files):
    torch.manual_seed(0)
    model = MAGE(tokenizer=dict(TINY_VQGAN, checkpoint=tiny_frozen_files['vqgan']),
                 token_predictor=TINY_PREDICTOR, img_size=32)
    model.init_weights()
    model.eval()  # no dropout, so that the loss can be recomputed
    images = torch.rand(2, 3, 32, 32)
    torch.manual_seed(1)
    out = model.loss(images)
    torch.manual_seed(1)
    mask, drop, ratio, _ = model.mask_generator(2, 64)
    ids, _ = model.tokenizer.encode(images)
    logits = model.token_predictor.logits(ids, mask, drop)
    assert logits.shape[-1] == 64 + 100 + 1  # codes, class slots, mask token
    # Upstream MAGE: CrossEntropyLoss(label_smoothing=0.1) on logits[:, 1:, :codebook_size],
    # averaged over the masked tokens; written out by hand.
    code_logits = logits[:, 1:, :64]
    logp = code_logits - code_logits.exp().sum(-1, keepdim=True).log()
    target = torch.full_like(logp, 0.1 / 64).scatter_add(
        -1, ids.unsqueeze(-1), torch.full_like(logp[..., :1], 0.9))
    per_token = -(target * logp).sum(-1)
    expected = (per_token * mask).sum() / mask.sum()
    assert out['loss'].item() == pytest.approx(expected.item(), rel=1e-5)
    # Not the whole-vocabulary loss of the MAGE copy in the ADDP release.
    whole = F.cross_entropy(logits[:, 1:].flatten(0, 1), ids.flatten(), reduction='none',
                            label_smoothing=0.1).view_as(mask)
    assert abs(((whole * mask).sum() / mask.sum()).item() - out['loss'].item()) > 1e-3
    assert out['mask_ratio'].item() == pytest.approx(ratio)
    out['loss'].backward()
    assert model.token_predictor.blocks[0].attn.qkv.weight.grad is not None
    assert all(p.grad is None for p in model.tokenizer.parameters())
    assert not any(k.startswith('tokenizer.') for k in model.state_dict())


def _vqgan_and_losses(seed=0):
    torch.manual_seed(seed)
    model = VQGAN(tokenizer=TINY_VQGAN, codebook_reviver=None)
    model.init_weights()
    images = torch.rand(4, 3, 32, 32)
    return model, images, model.loss(images)


def _grad_norms(model):
    """Gradient norms of the encoder and of the codebook (0 where none arrived)."""
    def norm(params):
        return sum(float(p.grad.norm()) for p in params if p.grad is not None)
    tokenizer = model.tokenizer
    return norm(tokenizer.encoder.parameters()), norm([tokenizer.codebook])


def test_vqgan_loss_values():
    model, images, out = _vqgan_and_losses()
    with torch.no_grad():
        z = model.tokenizer.encoder(images)
        z_q = model.tokenizer.lookup(model.tokenizer.quantize(z), z.shape[-2:])
        recon = model.tokenizer.decoder(z_q)
    assert out['loss_codebook'].item() == pytest.approx(F.mse_loss(z_q, z).item(), rel=1e-5)
    assert out['loss_commit'].item() == pytest.approx(0.25 * F.mse_loss(z, z_q).item(), rel=1e-5)
    assert out['loss_pixel'].item() == pytest.approx(F.l1_loss(recon, images).item(), rel=1e-5)
    mean_image_mse = (images - images.mean(0)).pow(2).flatten(1).mean(1)
    assert out['psnr_mean_image'].item() == pytest.approx(
        (-10 * torch.log10(mean_image_mse)).mean().item(), rel=1e-5)
    assert 1. <= out['perplexity'].item() <= 64.


def test_squared_error_pixel_loss_and_a_named_error_for_others():
    torch.manual_seed(0)
    model = VQGAN(tokenizer=TINY_VQGAN, codebook_reviver=None, pixel_loss='mse')
    model.init_weights()
    images = torch.rand(4, 3, 32, 32)
    out = model.loss(images)
    with torch.no_grad():
        z = model.tokenizer.encoder(images)
        recon = model.tokenizer.decoder(
            model.tokenizer.lookup(model.tokenizer.quantize(z), z.shape[-2:]))
    assert out['loss_pixel'].item() == pytest.approx(F.mse_loss(recon, images).item(), rel=1e-5)
    with pytest.raises(ValueError, match="pixel_loss='l2'.*'l1', 'mse'"):
        VQGAN(tokenizer=TINY_VQGAN, pixel_loss='l2')


def test_pixel_loss_reaches_the_encoder_straight_through_and_not_the_codes():
    model, images, out = _vqgan_and_losses()
    out['loss_pixel'].backward()
    encoder_grad, codebook_grad = _grad_norms(model)
    assert encoder_grad > 0 and codebook_grad == 0
    # Straight through: the encoder's latent gets exactly the gradient the decoder's input gets.
    z = model.tokenizer.encoder(images)
    z_q = model.tokenizer.lookup(model.tokenizer.quantize(z), z.shape[-2:]).detach()
    z_q.requires_grad_(True)
    (decoder_input_grad, ) = torch.autograd.grad(
        F.l1_loss(model.tokenizer.decoder(z_q), images), z_q)
    conv_out = model.tokenizer.encoder.conv_out.weight
    (expected, ) = torch.autograd.grad(z, conv_out, decoder_input_grad)
    # Up to L1 sign flips where z + (z_q - z) and z_q round apart.
    assert (conv_out.grad - expected).norm() < 1e-3 * expected.norm()


def test_commitment_loss_moves_only_the_encoder():
    model, _, out = _vqgan_and_losses()
    out['loss_commit'].backward()
    encoder_grad, codebook_grad = _grad_norms(model)
    assert encoder_grad > 0 and codebook_grad == 0


def test_codebook_loss_moves_only_the_codes():
    model, _, out = _vqgan_and_losses()
    out['loss_codebook'].backward()
    encoder_grad, codebook_grad = _grad_norms(model)
    assert encoder_grad == 0 and codebook_grad > 0


def test_defaults_the_tokenizer_recipes_rely_on():
    model = VQGAN(tokenizer=TINY_VQGAN)
    assert model.beta == 0.25 and model.pixel_loss_weight == 1.0
    assert model.codebook_reviver.dead_threshold > 0
    # With its defaults, the reviver restarts a code that no latent picks within 400 steps
    # (its usage average decays by 0.99 a step to below 0.03 after 349).
    torch.manual_seed(0)
    reviver = CodebookReviver(num_codes=4)
    codebook = torch.randn(4, 2)
    latents = torch.randn(64, 2)
    reviver(codebook, latents, torch.zeros(64, dtype=torch.long))  # the k-means start
    codebook[3] = 1e3
    restarted_at = next((step for step in range(400) if reviver(
        codebook, latents, torch.cdist(latents, codebook).argmin(1))), None)
    assert restarted_at is not None and restarted_at > 300
    assert codebook[3].abs().max() < 1e3


def test_autoencoder_warmup_trains_without_the_quantizer_then_initialises_the_codes():
    torch.manual_seed(0)
    model = VQGAN(tokenizer=TINY_VQGAN, autoencoder_warmup_iters=2)
    model.init_weights()
    model.train()
    images = torch.rand(4, 3, 32, 32)
    start = model.tokenizer.codebook.detach().clone()
    for _ in range(2):
        out = model.loss(images)
        assert set(out) == {'loss_pixel', 'psnr', 'psnr_mean_image'}
        autoencoded = model.tokenizer.decoder(model.tokenizer.encoder(images))
        assert out['loss_pixel'].item() == pytest.approx(
            F.l1_loss(autoencoded, images).item(), rel=1e-5)
    assert torch.equal(model.tokenizer.codebook, start)
    assert not model.codebook_reviver.initialized
    out = model.loss(images)
    assert {'loss_codebook', 'loss_commit', 'perplexity'} <= set(out)
    assert model.codebook_reviver.initialized
    assert not torch.equal(model.tokenizer.codebook, start)
    # The count is saved, so that a resumed run does not warm up again.
    assert model.state_dict()['iterations_trained'].item() == 3
    # Evaluation does not count.
    model.eval()
    model.loss(images)
    assert model.iterations_trained.item() == 3


def test_a_tokenizer_from_a_checkpoint_skips_the_autoencoder_warmup(tiny_frozen_files):
    model = VQGAN(tokenizer=dict(TINY_VQGAN, checkpoint=tiny_frozen_files['vqgan']),
                  autoencoder_warmup_iters=100)
    assert model.autoencoder_warmup_iters == 0
    assert 'loss_commit' in model.loss(torch.rand(2, 3, 32, 32))


def test_kmeans_finds_separated_clusters():
    torch.manual_seed(0)
    centres = torch.tensor([[0., 0.], [10., 0.], [0., 10.]])
    points = torch.cat([c + 0.1 * torch.randn(50, 2) for c in centres])
    found = kmeans(points, 3, num_iters=10)
    distances = torch.cdist(found, centres).min(1).values
    assert distances.max() < 0.1


def test_reviver_initialises_from_data_then_restarts_dead_codes():
    torch.manual_seed(0)
    reviver = CodebookReviver(num_codes=4, decay=0.5, dead_threshold=0.3, kmeans_iters=5)
    codebook = torch.zeros(4, 2)
    latents = torch.cat([torch.randn(20, 2) * 0.05 + c for c in
                         torch.tensor([[0., 0.], [5., 0.], [0., 5.], [5., 5.]])])
    assert reviver(codebook, latents, torch.zeros(80, dtype=torch.long))
    assert torch.cdist(codebook, latents).min(1).values.max() < 0.5
    # Code 3 goes unused: its usage average halves each step (1 -> 0.5 -> 0.25) until it falls
    # below 0.3, then it moves onto a latent and starts afresh.
    codebook[3] = torch.tensor([100., 100.])
    indices = torch.cdist(latents, codebook).argmin(1)
    assert not reviver(codebook, latents, indices) and codebook[3].tolist() == [100., 100.]
    assert reviver(codebook, latents, indices)
    assert torch.cdist(codebook[3:], latents).min() < 1e-6
    assert reviver.usage[3] == 1. and reviver.usage[:3].min() > 0.3


def test_reconstruction_metric_reports_the_mean_image_baseline():
    metric = ReconstructionMetric(max_baseline_images=2)
    # Three images: 0, 255 and 51 everywhere; the baseline reads the first two, whose mean
    # image (127.5) is off by half the range: 6.02 dB.
    images = torch.tensor([0, 255, 51], dtype=torch.uint8).view(3, 1, 1, 1).expand(3, 3, 2, 2)
    metric.process(dict(inputs=images), [
        dict(psnr=torch.tensor(20.), code_counts=torch.tensor([2, 2, 0, 0])),
        dict(psnr=torch.tensor(30.), code_counts=torch.tensor([0, 0, 0, 0])),
        dict(psnr=torch.tensor(40.), code_counts=torch.tensor([0, 0, 0, 0]))])
    result = metric.compute_metrics(metric.results)
    assert result == dict(psnr=30., psnr_mean_image=pytest.approx(6.0206, abs=1e-4),
                          codebook_usage=0.5, perplexity=pytest.approx(2.))


def test_trained_parts_export_to_the_released_layouts_bit_for_bit(tmp_path):
    torch.manual_seed(0)
    vqgan = VQGAN(tokenizer=TINY_VQGAN)
    predictor = _trainable_predictor()
    state = {**vqgan.state_dict(),
             **{f'token_predictor.{k}': v for k, v in predictor.state_dict().items()}}
    torch.save(export_released_part(state, 'tokenizer'), tmp_path / 'vqgan.ckpt')
    torch.save(export_released_part(state, 'token_predictor'), tmp_path / 'mage.pth')
    assert set(torch.load(tmp_path / 'mage.pth')) == {'model'}
    tokenizer = MODELS.build(dict(TINY_VQGAN, checkpoint=str(tmp_path / 'vqgan.ckpt')))
    loaded = MODELS.build(dict(TINY_PREDICTOR, checkpoint=str(tmp_path / 'mage.pth')))
    for module, reference in ((tokenizer, vqgan.tokenizer), (loaded, predictor)):
        for key, value in reference.state_dict().items():
            assert torch.equal(module.state_dict()[key], value), key
    with pytest.raises(KeyError, match='no token_predictor weights'):
        export_released_part(vqgan.state_dict(), 'token_predictor')


def test_a_wrong_codebook_or_grid_is_refused_naming_both_files(tmp_path, tiny_frozen_files):
    torch.manual_seed(0)
    small = MODELS.build(dict(TINY_VQGAN, codebook_size=32))
    torch.save(small.state_dict(), tmp_path / 'vqgan32.ckpt')
    with pytest.raises(TokenInterfaceError) as info:
        MAGE(tokenizer=dict(TINY_VQGAN, codebook_size=32,
                            checkpoint=str(tmp_path / 'vqgan32.ckpt')),
             token_predictor=dict(TINY_PREDICTOR, checkpoint=tiny_frozen_files['mage']),
             img_size=32)
    message = str(info.value)
    assert 'vqgan32.ckpt' in message and tiny_frozen_files['mage'] in message
    assert 'codebook size 32 vs 64' in message
    with pytest.raises(TokenInterfaceError, match='tokens per image 256 vs 64'):
        MAGE(tokenizer=dict(TINY_VQGAN, checkpoint=tiny_frozen_files['vqgan']),
             token_predictor=dict(TINY_PREDICTOR, checkpoint=tiny_frozen_files['mage']),
             img_size=64)


def _reviver_rank(rank: int, init_file: str, results) -> None:
    """One of two gloo ranks: rank 0's batches hold codes 0-2, rank 1's only code 3."""
    import torch.distributed as dist

    from addp.models.algorithms import codebook_reviver
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=2)
    try:
        broadcasts = []
        real_broadcast = codebook_reviver.broadcast
        codebook_reviver.broadcast = lambda t: (broadcasts.append(1), real_broadcast(t))
        torch.manual_seed(rank)
        reviver = CodebookReviver(num_codes=4, decay=0.5, dead_threshold=0.3, kmeans_iters=0)
        reviver.initialized.fill_(True)
        centres = torch.tensor([[0., 0.], [5., 0.], [0., 5.], [5., 5.]])
        codebook = centres.clone()
        seen = (0, 1, 2) if rank == 0 else (3, )
        latents = torch.cat([centres[c] + 0.01 * torch.randn(20, 2) for c in seen])

        def steps(count):
            return [bool(reviver(codebook, latents, torch.cdist(latents, codebook).argmin(1)))
                    for _ in range(count)]

        kept = steps(4)
        kept_broadcasts, kept_usage = len(broadcasts), reviver.usage.clone()
        codebook[2] = torch.tensor([100., 100.])  # now no rank uses code 2
        dead = steps(3)
        # Plain lists: the parent reads them after this process has gone.
        results.put((rank, kept, kept_broadcasts, kept_usage.tolist(), dead, len(broadcasts),
                     codebook.tolist()))
    finally:
        dist.destroy_process_group()


def test_reviver_counts_every_ranks_codes_and_restarts_rank_zeros_choice(tmp_path):
    import torch.multiprocessing as mp
    context = mp.get_context('spawn')
    results = context.Queue()
    workers = [context.Process(target=_reviver_rank, args=(rank, str(tmp_path / 'init'), results))
               for rank in range(2)]
    for worker in workers:
        worker.start()
    found = {}
    for _ in range(2):
        rank, *rest = results.get(timeout=120)
        found[rank] = rest
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    for rank in (0, 1):
        kept, kept_broadcasts, kept_usage, dead, broadcasts, codebook = found[rank]
        # Code 3 is used on rank 1 only, and still counts: no restart. The codebook is
        # broadcast every step, as no rank waits to learn whether a code restarted.
        assert kept == [False] * 4 and kept_broadcasts == 4
        assert kept_usage == [1., 1., 1., 1.]
        # Code 2, unused everywhere, restarts on both ranks in the same step, onto rank 0's
        # choice.
        assert dead == [False, True, False] and broadcasts == 7
        restarted = torch.tensor(codebook[2:3])
        assert torch.cdist(restarted, torch.tensor([[0., 0.], [5., 0.], [0., 5.]])).min() < 0.1
    assert found[0][-1] == found[1][-1]
