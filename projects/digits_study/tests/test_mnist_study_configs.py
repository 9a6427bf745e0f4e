"""The MNIST study's recipes: each arm differs from its comparison only in what it compares."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from projects.digits_study.addp_study import STUDY_CONFIGS
from projects.digits_study.addp_study.setups import SETUPS

MNIST_CONFIGS = osp.join(STUDY_CONFIGS, 'mnist')
SCHEDULE = ('train_cfg', 'param_scheduler', 'optim_wrapper', 'randomness')


def config(name: str) -> Config:
    return Config.fromfile(osp.join(MNIST_CONFIGS, name))


@pytest.mark.parametrize('name', sorted(
    osp.basename(p) for p in glob.glob(osp.join(MNIST_CONFIGS, '*.py'))
    if osp.basename(p) != 'mnist_study.py'))  # the study's shared values, not a recipe
def test_every_recipe_reads_mnist(name):
    cfg = config(name)
    loaders = [k for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
               if cfg.get(k)]
    assert loaders and all(cfg[k].dataset.data_root == 'data/mnist' for k in loaders)


def test_mae_trains_as_long_as_addp_at_the_fine_layouts_patch():
    addp, mae = config('addp_tiny_mnist_grid8.py'), config('mae_tiny_mnist_grid8.py')
    for key in SCHEDULE:
        assert mae[key] == addp[key], key
    assert mae.train_dataloader == addp.train_dataloader
    assert mae.default_hooks.checkpoint == addp.default_hooks.checkpoint
    encoder, arch = addp.model.backbone, mae.model.backbone.arch
    assert encoder.patch_size == mae.model.backbone.patch_size == mae.model.head.patch_size == 4
    assert mae.model.neck.num_patches == addp.model.neck.num_patches == 64
    assert (arch.embed_dims, arch.num_layers, arch.num_heads) == (
        encoder.arch.embed_dims, encoder.arch.num_layers, encoder.arch.num_heads)
    # Kept at every length the study reads (10, 19 and 29 epochs of the 4,000 digits).
    interval, length = addp.default_hooks.checkpoint.interval, addp.train_cfg.max_iters
    assert SETUPS['mnist_grid8'].iters == tuple(range(interval, length + 1, interval))
    assert SETUPS['mnist_grid4'].iters == SETUPS['mnist_grid8'].iters
    assert addp.default_hooks.checkpoint.max_keep_ckpts == -1


def test_the_matched_arm_changes_the_layout_alone():
    fine, quick = config('addp_tiny_mnist_grid8.py'), config('addp_tiny_mnist.py')
    for key in SCHEDULE:
        assert fine[key] == quick[key], key
    assert fine.train_dataloader == quick.train_dataloader
    assert (fine.model.backbone.patch_size, quick.model.backbone.patch_size) == (4, 8)
    assert (fine.model.neck.codebook_size, quick.model.neck.codebook_size) == (256, 32)
    assert dict(fine.model.backbone, patch_size=None) == dict(quick.model.backbone,
                                                              patch_size=None)
    fine, quick = config('mage_tiny_mnist_grid8.py'), config('mage_tiny_mnist.py')
    for key in SCHEDULE:
        assert fine[key] == quick[key], key
    assert fine.model.token_predictor.num_patches == 64
    assert quick.model.token_predictor.num_patches == 16


def test_fine_tuning_builds_each_pretrained_encoder_at_4_px():
    addp = config('addp_tiny_mnist_grid8.py').model.backbone
    ten, every = config('finetune_tiny_mnist_grid8.py'), config(
        'finetune_tiny_mnist_grid8_all_labels.py')
    mae = config('finetune_tiny_mnist_grid8_mae.py')
    for cfg in (ten, every):
        assert cfg.model.backbone.patch_size == 4 and cfg.model.backbone.arch == addp.arch
    assert ten.train_dataloader.dataset.ann_file == 'meta/train_10shot_seed0.txt'
    assert every.train_dataloader.dataset.ann_file == 'meta/train.txt'
    assert mae.model.backbone.patch_size == 4
    assert mae.model.backbone.init_cfg.checkpoint.endswith('mae/iter_1800.pth')
