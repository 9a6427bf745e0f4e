"""ViT-B and ViT-L build at full size with the official parameter counts."""
import importlib.util
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Counted on the official implementation (models_addp.py, token_predictor.py, taming VQModel).
OFFICIAL = {
    'base': dict(encoder=85_846_272, addp_own=147_066_345, mage=146_474_217, vqgan=54_515_587),
    'large': dict(encoder=303_365_120, addp_own=410_681_065, mage=409_891_561, vqgan=54_515_587),
}


def _summary_tool():
    spec = importlib.util.spec_from_file_location(
        'model_summary', osp.join(ROOT, 'tools', 'model_summary.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unused_official_parameters(dim: int, num_patches: int, patch_size: int) -> dict:
    """Parameters the official models define but never use in their forward pass."""
    pred = dim * patch_size**2 * 3 + patch_size**2 * 3  # decoder_pred
    pos = (num_patches + 1) * dim
    return dict(
        # decoder_pos_embed, pos_token_embed, pos_mask_embed, decoder_pred
        addp=3 * pos + pred,
        # cls_token, pos_embed, mask_token, decoder_pos_embed, patch_embed, decoder_pred
        mage=2 * dim + 2 * pos + (dim * patch_size**2 * 3 + dim) + pred)


@pytest.mark.parametrize('size,dim', [('base', 768), ('large', 1024)])
def test_parameter_counts_match_official(size, dim):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'models', f'addp_vit_{size}.py'))
    counts = _summary_tool().count_parameters(cfg)
    print(f'ADDP ViT-{size[0].upper()}: {counts}')
    unused = _unused_official_parameters(dim, num_patches=256, patch_size=16)
    official = OFFICIAL[size]
    assert counts['backbone'] == official['encoder']
    assert counts['backbone'] + counts['neck'] + unused['addp'] == official['addp_own']
    assert counts['token_predictor'] + unused['mage'] == official['mage']
    assert counts['tokenizer'] == official['vqgan']
    assert counts['trainable'] == counts['backbone'] + counts['neck']
