"""The own-folder and digits recipes resolve to the models and settings they describe."""
import os.path as osp

import pytest
from mmengine.config import Config
from pretrain_probes import REPO

from addp.models.target_generators.interface import TokenInterfaceError
from addp.registry import MODELS

CONFIGS = osp.join(REPO, 'configs')


def _cfg(path):
    return Config.fromfile(osp.join(CONFIGS, path))


def test_tokenizer_recipe_trains_the_released_tokenizer_on_a_folder():
    cfg, released = _cfg('tokenizer/vqgan_custom_256px.py'), _cfg('addp/pretrain_base.py')
    assert cfg.model.type == 'VQGAN' and cfg.model.beta == 0.25
    # Starts from the released file, with the released layers.
    assert cfg.model.tokenizer == released.model.tokenizer
    assert cfg.model.codebook_reviver.type == 'CodebookReviver'
    dataset = cfg.train_dataloader.dataset
    assert (dataset.type, dataset.data_root, dataset.data_prefix, dataset.with_label) == (
        'CheckedCustomDataset', 'data/custom', 'train', False)
    # It validates on a fixed-seed share of train, never on a split that reports.
    train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert val.data_prefix == 'train' and train.holdout == dict(val.holdout, part='train')
    assert val.holdout['part'] == 'val' and 0 < val.holdout['fraction'] < 1
    assert cfg.val_evaluator == dict(type='ReconstructionMetric')
    # taming's learning rate: 4.5e-6 per image of the total batch.
    assert cfg.optim_wrapper.optimizer.lr == 4.5e-6
    assert cfg.auto_scale_lr == dict(base_batch_size=1, enable=True)
    assert cfg.default_scope == 'addp'


def test_token_predictor_recipe_is_mage_b_from_scratch_on_the_custom_tokenizer():
    cfg = _cfg('mage/mage_base_custom_256px.py')
    assert cfg.model.type == 'MAGE' and cfg.model.img_size == 256
    assert cfg.model.token_predictor.arch == 'b'
    assert cfg.model.token_predictor.checkpoint is None
    assert cfg.model.tokenizer.checkpoint == 'data/custom_pretrained/vqgan_custom.ckpt'
    assert cfg.model.mask_generator == dict(type='TruncatedNormalMaskGenerator', ratio_min=0.5,
                                            ratio_max=1.0, mu=0.55, std=0.25)
    assert cfg.optim_wrapper.optimizer.lr == 1.5e-4
    # Own-folder recipes resume only when told to (--resume), so that a changed recipe in an
    # old work dir starts afresh.
    assert cfg.train_cfg.max_epochs == 800 and cfg.resume is False
    assert cfg.train_dataloader.dataset.data_root == 'data/custom'


def test_addp_recipe_is_the_released_one_with_custom_data_and_frozen_parts():
    cfg, released = _cfg('addp/pretrain_base_custom.py'), _cfg('addp/pretrain_base.py')
    assert cfg.model.tokenizer.checkpoint == 'data/custom_pretrained/vqgan_custom.ckpt'
    assert cfg.model.token_predictor.checkpoint == 'data/custom_pretrained/mage_custom.pth'
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg', 'auto_scale_lr'):
        assert cfg[key] == released[key], key
    assert released.resume is True and cfg.resume is False
    assert cfg.model.backbone == released.model.backbone
    assert cfg.train_dataloader.dataset.type == 'CheckedCustomDataset'
    assert cfg.train_dataloader.dataset.pipeline == released.train_dataloader.dataset.pipeline


def test_a_missing_custom_tokenizer_stops_the_build_with_its_path():
    cfg = _cfg('mage/mage_base_custom_256px.py')
    with pytest.raises(FileNotFoundError, match='data/custom_pretrained/vqgan_custom.ckpt'):
        MODELS.build(cfg.model)


def test_digits_stages_agree_on_codes_and_grid():
    addp = _cfg('digits/addp_tiny_digits.py').model
    tokens = (32 // 2**(len(addp.tokenizer.ch_mult) - 1))**2
    patches = (32 // addp.backbone.patch_size)**2
    assert tokens == patches == addp.neck.num_patches == addp.token_predictor.num_patches == 16
    assert addp.tokenizer.codebook_size == addp.neck.codebook_size == 32
    vqgan, mage = _cfg('digits/vqgan_tiny_digits.py'), _cfg('digits/mage_tiny_digits.py')
    assert vqgan.model.tokenizer == dict(addp.tokenizer, checkpoint=None)
    assert mage.model.token_predictor == dict(addp.token_predictor, checkpoint=None)
    assert mage.model.tokenizer == addp.tokenizer and mage.model.img_size == 32
    finetune = _cfg('digits/finetune_tiny_digits.py').model.backbone
    assert (finetune.arch, finetune.patch_size) == (addp.backbone.arch, addp.backbone.patch_size)
    linprobe = _cfg('digits/linprobe_tiny_digits.py').model
    assert linprobe.backbone.frozen_stages == addp.backbone.arch.num_layers
    assert linprobe.neck.type == 'ClsBatchNormNeck'


def test_fine_layout_stages_agree_on_codes_and_grid():
    addp = _cfg('digits/addp_tiny_grid8.py')
    model = addp.model
    tokens = (addp.img_size // 2**(len(model.tokenizer.ch_mult) - 1))**2
    patches = (addp.img_size // model.backbone.patch_size)**2
    assert tokens == patches == model.neck.num_patches == model.token_predictor.num_patches == 64
    assert model.tokenizer.codebook_size == model.neck.codebook_size == 256
    assert model.token_predictor.codebook_size == 256
    assert (addp.patch_size, addp.num_tokens, addp.codebook_size) == (4, 64, 256)
    # Only the layout and the frozen parts' files differ from the quick demo's recipes.
    demo = _cfg('digits/addp_tiny_digits.py')
    layout_free = dict(ch_mult=None, codebook_size=None, checkpoint=None)
    assert dict(model.tokenizer, **layout_free) == dict(demo.model.tokenizer, **layout_free)
    assert model.backbone.arch == demo.model.backbone.arch
    assert addp.train_cfg == demo.train_cfg and addp.param_scheduler == demo.param_scheduler
    stages = {name: _cfg(f'digits/{name}_tiny_grid8.py') for name in ('vqgan', 'mage', 'finetune')}
    assert stages['vqgan'].model.tokenizer == dict(model.tokenizer, checkpoint=None)
    assert stages['mage'].model.tokenizer == model.tokenizer
    assert stages['mage'].model.token_predictor == dict(model.token_predictor, checkpoint=None)
    assert dict(stages['vqgan'].model, tokenizer=None) == dict(
        _cfg('digits/vqgan_tiny_digits.py').model, tokenizer=None)
    finetune = stages['finetune'].model.backbone
    assert finetune.patch_size == 4 and finetune.arch == model.backbone.arch
    assert finetune.init_cfg.checkpoint == stages['finetune'].pretrained
    assert osp.dirname(finetune.init_cfg.checkpoint) == osp.dirname(model.tokenizer.checkpoint)
    cfg = _cfg('digits/addp_tiny_grid8.py')
    cfg.model.tokenizer.checkpoint = cfg.model.token_predictor.checkpoint = None
    assert MODELS.build(cfg.model).tokenizer.grid_size((32, 32)) == (8, 8)


def test_digits_decoder_of_another_codebook_is_refused():
    cfg = _cfg('digits/addp_tiny_digits.py')
    cfg.model.tokenizer.checkpoint = None
    cfg.model.token_predictor = None
    cfg.model.neck.codebook_size = 64
    with pytest.raises(TokenInterfaceError, match='the tokenizer config and the decoder config '
                       r'\(model.neck\) do not fit: codebook size 32 vs 64'):
        MODELS.build(cfg.model)
