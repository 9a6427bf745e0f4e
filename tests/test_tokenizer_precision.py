"""The frozen tokenizer searches tokens in IEEE fp32 whatever the run's autocast and TF32
flags, and puts the flags back."""
import os.path as osp

import pytest
import torch

from addp.checkpoint import addp_config_from_official, write_released_files
from addp.precision import exact_fp32
from addp.registry import MODELS

GOLDEN = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'addp_official_tiny.pt')


@pytest.fixture(scope='module')
def golden_tokenizer(tmp_path_factory):
    """The tokenizer of the official-code recording, its input images and fp32 tokens."""
    golden = torch.load(GOLDEN, map_location='cpu', weights_only=False)
    files = write_released_files(golden['checkpoints'], str(tmp_path_factory.mktemp('golden')))
    cfg = addp_config_from_official(golden['config'], files['vqgan'], files['mage'])
    tokenizer = MODELS.build(cfg['tokenizer']).eval()
    return tokenizer, golden['inputs']['images'], golden['outputs']['vq_indices']


def test_tokens_under_bf16_autocast_equal_the_fp32_tokens(golden_tokenizer):
    tokenizer, images, fp32_tokens = golden_tokenizer
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        tokens, latent = tokenizer.encode(images)
        # What the policy prevents: the same encoder run in bf16 flips near-ties.
        bf16_tokens = tokenizer.quantize(tokenizer.encoder(images))
    assert torch.equal(tokens, fp32_tokens)
    assert latent.dtype == torch.float32
    assert (bf16_tokens != fp32_tokens).any()


def _flag_values():
    return (torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision,
            torch.backends.mkldnn.conv.fp32_precision)


def test_exact_fp32_pins_ieee_and_puts_every_flag_back():
    before = _flag_values()
    try:
        torch.backends.cudnn.conv.fp32_precision = 'tf32'
        torch.backends.cuda.matmul.fp32_precision = 'tf32'
        with torch.autocast('cpu', dtype=torch.bfloat16):
            with exact_fp32('cpu'):
                assert _flag_values() == ('ieee', 'ieee', 'ieee')
                assert not torch.is_autocast_enabled('cpu')
                assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
            assert torch.is_autocast_enabled('cpu')
        assert _flag_values()[:2] == ('tf32', 'tf32')
        with pytest.raises(RuntimeError, match='inside'):
            with exact_fp32('cpu'):
                raise RuntimeError('inside')
        assert _flag_values()[:2] == ('tf32', 'tf32')
        # Flags set through the legacy API read the same afterwards.
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
        with exact_fp32('cpu'):
            assert _flag_values() == ('ieee', 'ieee', 'ieee')
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    finally:
        (torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision,
         torch.backends.mkldnn.conv.fp32_precision) = before
