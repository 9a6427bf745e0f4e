"""The MAGE VQGAN tokenizer and the MAGE token predictor."""
import os.path as osp

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

from addp.models import MAGETokenPredictor, VQGANTokenizer
from addp.models.target_generators.vqgan_networks import ResnetBlock
from addp.testing import TINY_MAGE, TINY_VQGAN

DIGITS_MODEL = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', '_base_',
                        'models', 'addp_digits_tiny.py')


def _tiny_vqgan():
    torch.manual_seed(0)
    cfg = {k: v for k, v in TINY_VQGAN.items() if k != 'type'}
    return VQGANTokenizer(**cfg)


def test_resnet_block_applies_shortcut_to_residual_branch():
    torch.manual_seed(0)
    block = ResnetBlock(32, 64)
    x = torch.randn(1, 32, 8, 8)
    h = block.conv1(F.silu(block.norm1(x)))
    h = block.conv2(F.silu(block.norm2(h)))
    assert torch.allclose(block(x), block.nin_shortcut(h) + h)
    assert block.nin_shortcut.in_channels == 64  # it reads the branch, not the 32-wide input


def test_vqgan_has_no_attention_and_bias_free_residual_convs():
    vqgan = _tiny_vqgan()
    names = [n for n, _ in vqgan.named_modules()]
    assert not any('attn' in n for n in names)
    for name, module in vqgan.named_modules():
        if isinstance(module, ResnetBlock):
            assert module.conv1.bias is None and module.conv2.bias is None, name
    assert vqgan.encoder.conv_in.bias is None
    # Downsampling is average pooling: no parameters between levels.
    assert not any('downsample' in n for n in names)


def _group_norms(module):
    return [m for m in module.modules() if isinstance(m, nn.GroupNorm)]


def test_norm_groups_reach_every_layer_and_keep_the_released_keys():
    cfg = {k: v for k, v in TINY_VQGAN.items() if k not in ('type', 'norm_groups')}
    released, regrouped = VQGANTokenizer(**cfg), VQGANTokenizer(**cfg, norm_groups=4)
    assert {m.num_groups for m in _group_norms(released)} == {32}
    assert {m.num_groups for m in _group_norms(regrouped)} == {4}
    shapes = {k: v.shape for k, v in released.state_dict().items()}
    assert shapes == {k: v.shape for k, v in regrouped.state_dict().items()}


def test_digits_tokenizer_normalises_groups_of_channels_as_the_released_one_does():
    # One channel per group would be an instance norm, which erases each image's colour.
    cfg = Config.fromfile(DIGITS_MODEL).model.tokenizer
    tokenizer = VQGANTokenizer(**{k: v for k, v in cfg.items() if k not in ('type', 'checkpoint')})
    assert min(m.num_channels // m.num_groups for m in _group_norms(tokenizer)) == 4


def test_encode_decode_shapes_and_codebook_consistency():
    vqgan = _tiny_vqgan()
    images = torch.rand(2, 3, 32, 32)
    ids, latent = vqgan.encode(images)
    assert ids.shape == (2, 64) and ids.dtype == torch.int64
    assert latent.shape == (2, 16, 8, 8)
    assert vqgan.grid_size((32, 32)) == (8, 8)
    assert torch.equal(vqgan.lookup(ids, (8, 8)), latent)
    one_hot = F.one_hot(ids, vqgan.codebook_size).float()
    assert torch.allclose(vqgan.embed_probs(one_hot, (8, 8)), latent)
    assert vqgan.decode(latent).shape == (2, 3, 32, 32)


def test_quantizer_picks_nearest_code():
    vqgan = _tiny_vqgan()
    z = torch.randn(1, 16, 2, 2)
    ids = vqgan.quantize(z)
    flat = z.permute(0, 2, 3, 1).reshape(-1, 16)
    expected = torch.cdist(flat, vqgan.codebook).argmin(dim=1)
    assert torch.equal(ids.flatten(), expected)


def test_frozen_parts_stay_frozen_and_in_eval():
    vqgan = _tiny_vqgan()
    predictor = MAGETokenPredictor(**{k: v for k, v in TINY_MAGE.items() if k != 'type'})
    for module in (vqgan, predictor):
        module.train()
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())


def test_token_predictor_reads_visible_tokens_only():
    torch.manual_seed(0)
    predictor = MAGETokenPredictor(**dict({k: v for k, v in TINY_MAGE.items() if k != 'type'},
                                          num_patches=16))
    for module in predictor.modules():
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.2)
    ids = torch.randint(0, 64, (1, 16))
    mask = torch.zeros(1, 16, dtype=torch.bool)
    mask[0, :8] = True
    probs = predictor(ids, mask)
    assert probs.shape == (1, 16, 64)
    assert torch.allclose(probs.sum(-1), torch.ones(1, 16))
    changed_masked = ids.clone()
    changed_masked[0, 0] = (ids[0, 0] + 1) % 64
    assert torch.allclose(predictor(changed_masked, mask), probs)
    changed_visible = ids.clone()
    changed_visible[0, 12] = (ids[0, 12] + 1) % 64
    assert not torch.allclose(predictor(changed_visible, mask), probs)


def test_tokens_under_bf16_autocast_equal_the_fp32_tokens_on_the_golden_inputs(tmp_path):
    import os.path as osp

    from addp.checkpoint import write_released_files
    from addp.checkpoint.official import addp_config_from_official
    from addp.registry import MODELS
    golden = torch.load(osp.join(osp.dirname(__file__), 'data', 'addp_official_tiny.pt'),
                        map_location='cpu', weights_only=False)
    files = write_released_files(golden['checkpoints'], str(tmp_path))
    cfg = addp_config_from_official(golden['config'], files['vqgan'], files['mage'])
    tokenizer = MODELS.build(cfg['tokenizer'])
    images = golden['inputs']['images']
    fp32, _ = tokenizer.encode(images)
    assert torch.equal(fp32, golden['outputs']['vq_indices'])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        bf16, latent = tokenizer.encode(images)
        # The bf16 path this guards against: the encoder and the search in bf16 flip codes.
        z = tokenizer.encoder(images)
        flat = z.permute(0, 2, 3, 1).flatten(0, 2)
        codebook = tokenizer.codebook
        naive = (flat.pow(2).sum(1, keepdim=True) + codebook.pow(2).sum(1)
                 - 2 * flat @ codebook.t()).argmin(1).view_as(fp32)
    assert torch.equal(bf16, fp32)
    assert latent.dtype == torch.float32
    assert not torch.equal(naive, fp32)
