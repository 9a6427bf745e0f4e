"""Loading the released checkpoint formats, converting them, and the errors on bad files."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

from addp.checkpoint import (
    CheckpointKeyError,
    addp_config_from_official,
    convert_classifier_to_official,
    convert_official_classifier,
    convert_official_pretrain,
    convert_to_official_pretrain,
    load_addp_checkpoint,
    read_checkpoint,
    write_released_files,
)
from addp.checkpoint.official import MAGE_UNUSED_KEYS, OFFICIAL_UNUSED_KEYS
from addp.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
GOLDEN = osp.join(ROOT, 'tests', 'data', 'addp_official_tiny.pt')


@pytest.fixture(scope='module')
def golden():
    return torch.load(GOLDEN, map_location='cpu', weights_only=False)


@pytest.fixture(scope='module')
def official_files(golden, tmp_path_factory):
    """The golden weights laid out as the released files are."""
    root = tmp_path_factory.mktemp('official')
    files = write_released_files(golden['checkpoints'], str(root))
    vqgan = torch.load(files['vqgan'])
    files['vqgan_nested'] = str(root / 'vqgan_nested.ckpt')
    torch.save({'state_dict': vqgan, 'epoch': 3}, files['vqgan_nested'])
    return files


def _tokenizer_cfg(golden, checkpoint):
    return addp_config_from_official(golden['config'])['tokenizer'] | dict(checkpoint=checkpoint)


def _mage_cfg(golden, checkpoint):
    return addp_config_from_official(golden['config'])['token_predictor'] | dict(
        checkpoint=checkpoint)


@pytest.mark.parametrize('which', ['vqgan', 'vqgan_nested', 'addp'])
def test_tokenizer_loads_every_released_layout(golden, official_files, which):
    tokenizer = MODELS.build(_tokenizer_cfg(golden, official_files[which]))
    expected = golden['checkpoints']['addp_pretrain']['model']['vqgan.quantize.embedding.weight']
    assert torch.equal(tokenizer.codebook, expected)


@pytest.mark.parametrize('which', ['mage', 'addp'])
def test_token_predictor_loads_mage_and_addp_files(golden, official_files, which):
    predictor = MODELS.build(_mage_cfg(golden, official_files[which]))
    expected = golden['checkpoints']['addp_pretrain']['model'][
        'token_predictor.token_emb.word_embeddings.weight']
    assert torch.equal(predictor.token_emb.word_embeddings.weight, expected)


def test_unexpected_key_is_named(golden, official_files, tmp_path):
    state = torch.load(official_files['mage'])
    state['model']['blocks.9.attn.qkv.weight'] = torch.zeros(1)
    torch.save(state, tmp_path / 'extra.pth')
    with pytest.raises(CheckpointKeyError, match=r'unexpected keys \(1\).*blocks\.9\.attn'):
        MODELS.build(_mage_cfg(golden, str(tmp_path / 'extra.pth')))


def test_missing_key_is_named(golden, official_files, tmp_path):
    state = torch.load(official_files['vqgan'])
    del state['decoder.conv_out.bias']
    torch.save(state, tmp_path / 'missing.ckpt')
    with pytest.raises(CheckpointKeyError, match=r'missing keys \(1\).*decoder\.conv_out\.bias'):
        MODELS.build(_tokenizer_cfg(golden, str(tmp_path / 'missing.ckpt')))


def test_shape_mismatch_names_the_key(golden, official_files):
    cfg = _tokenizer_cfg(golden, official_files['vqgan'])
    cfg.update(codebook_size=512)
    with pytest.raises(CheckpointKeyError, match=r'quantize\.embedding\.weight: checkpoint '
                       r'\(1024, 256\) vs model \(512, 256\)'):
        MODELS.build(cfg)


def test_truncated_and_missing_files(golden, official_files, tmp_path):
    data = open(official_files['vqgan'], 'rb').read()
    (tmp_path / 'cut.ckpt').write_bytes(data[:len(data) // 2])
    with pytest.raises(RuntimeError, match='truncated: the archive ends'):
        read_checkpoint(str(tmp_path / 'cut.ckpt'))
    with pytest.raises(FileNotFoundError, match='nowhere.ckpt'):
        MODELS.build(_tokenizer_cfg(golden, str(tmp_path / 'nowhere.ckpt')))


def test_addp_loads_official_and_converted_checkpoints(golden, official_files, tmp_path):
    cfg = addp_config_from_official(golden['config'], official_files['vqgan'],
                                    official_files['mage'])
    from_official = MODELS.build(cfg)
    load_addp_checkpoint(from_official, official_files['addp'])
    torch.save({'state_dict': from_official.state_dict()}, tmp_path / 'ours.pth')
    from_ours = MODELS.build(cfg)
    load_addp_checkpoint(from_ours, str(tmp_path / 'ours.pth'))
    for key, value in from_official.state_dict().items():
        assert torch.equal(value, from_ours.state_dict()[key]), key
    official = golden['checkpoints']['addp_pretrain']['model']
    assert torch.equal(from_ours.neck.pos_embed_masked, official['decoder_pos_mask_embed'])
    assert torch.equal(from_ours.backbone.tokenizer_norm.weight, official['tokenizer_norm.weight'])


def test_pretrain_conversion_round_trip(golden):
    official = golden['checkpoints']['addp_pretrain']['model']
    back = convert_to_official_pretrain(convert_official_pretrain(official))
    assert set(back) == set(official)
    unused = set(OFFICIAL_UNUSED_KEYS) | {'token_predictor.' + k for k in MAGE_UNUSED_KEYS}
    for key, value in official.items():
        assert back[key].shape == value.shape, key
        if key not in unused:
            assert torch.equal(back[key], value), key


def test_classifier_conversion_round_trip(golden):
    official = golden['checkpoints']['classifier']['model']
    converted = convert_official_classifier(official)
    assert 'head.fc.weight' in converted and 'backbone.fc_norm.weight' in converted
    back = convert_classifier_to_official(converted)
    assert set(back) == set(official)
    assert all(torch.equal(back[k], v) for k, v in official.items())


def test_convert_tool_writes_whole_files_and_keeps_existing_ones(official_files, tmp_path):
    tool = osp.join(ROOT, 'tools', 'convert_official_checkpoint.py')
    dst = tmp_path / 'converted.pth'
    run = lambda *a: subprocess.run([sys.executable, tool, *a], capture_output=True, text=True)  # noqa
    ok = run(official_files['addp'], str(dst), '--kind', 'pretrain')
    assert ok.returncode == 0, ok.stderr
    state = torch.load(dst)['state_dict']
    assert 'neck.pos_embed_visible' in state and not any(k.startswith('tokenizer.') for k in state)
    before = dst.read_bytes()
    again = run(official_files['classifier'], str(dst), '--kind', 'classifier')
    assert again.returncode != 0 and 'exists' in again.stderr
    assert dst.read_bytes() == before
    back = run(str(dst), str(tmp_path / 'official.pth'), '--kind', 'pretrain', '--to-official',
               '--vqgan', official_files['vqgan'], '--token-predictor', official_files['mage'])
    assert back.returncode == 0, back.stderr
    official = torch.load(official_files['addp'])['model']
    assert set(torch.load(tmp_path / 'official.pth')['model']) == set(official)
