"""The pretraining configs resolve to the released recipe."""
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS
from mmengine.runner import Runner
from pretrain_probes import REPO

from addp.testing import tiny_addp_cfg

CONFIGS = osp.join(REPO, 'configs', 'addp')
RELEASE = dict(base=dict(epochs=1600, arch='b', mage='data/pretrained/mage-vitb-1600.pth'),
               large=dict(epochs=800, arch='l', mage='data/pretrained/mage-vitl-1600.pth'))


def _cfg(name):
    return Config.fromfile(osp.join(CONFIGS, f'pretrain_{name}.py'))


@pytest.mark.parametrize('name', ['base', 'large'])
def test_recipe_values(name):
    cfg, release = _cfg(name), RELEASE[name]

    # Data: 256 px bicubic RandomResizedCrop over (0.2, 1.0) of the area, horizontal flip,
    # pixels in [0, 1] RGB.
    loader = cfg.train_dataloader
    assert loader.dataset.type == 'ImageNet' and loader.dataset.split == 'train'
    assert loader.drop_last is True
    load, crop, flip, pack = loader.dataset.pipeline
    # Decoded with Pillow, as the official loader reads ImageNet.
    assert load.type == 'LoadAnyImageFromFile' and pack.type == 'PackInputs'
    assert (crop.type, crop.scale, crop.crop_ratio_range) == ('RandomResizedCrop', 256, (0.2, 1.0))
    assert (crop.interpolation, crop.backend) == ('bicubic', 'pillow')
    assert (flip.type, flip.prob, flip.direction) == ('RandomFlip', 0.5, 'horizontal')
    preprocessor = cfg.model.data_preprocessor
    assert (preprocessor.mean, preprocessor.std, preprocessor.to_rgb) == ([0.] * 3, [255.] * 3,
                                                                          True)

    # Model and frozen files.
    assert cfg.model.backbone.arch == release['arch'] and cfg.model.backbone.img_size == 256
    assert cfg.model.backbone.drop_rate == 0.1 and cfg.model.neck.drop_rate == 0.1
    assert cfg.model.neck.num_layers == 8
    assert cfg.model.tokenizer.checkpoint == 'data/pretrained/vqgan_jax_strongaug.ckpt'
    assert cfg.model.token_predictor.checkpoint == release['mage']

    # Optimisation: AdamW (0.9, 0.95), wd 0.05, clip 3.0, fp16 with growth interval 500.
    wrapper = cfg.optim_wrapper
    assert (wrapper.type, wrapper.dtype) == ('AmpOptimWrapper', 'float16')
    assert wrapper.loss_scale == dict(growth_interval=500)
    assert wrapper.clip_grad == dict(max_norm=3.0)
    assert wrapper.optimizer == dict(type='AdamW', lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05)
    assert wrapper.paramwise_cfg == dict(flat_decay_mult=0.0, bias_decay_mult=0.0)

    # Schedule: 40 warm-up epochs, then cosine to 0 at the last epoch, stepped per iteration.
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 40)
    assert (cosine.type, cosine.begin, cosine.end) == ('CosineAnnealingLR', 40, release['epochs'])
    assert cosine.T_max == release['epochs'] - 40 and cosine.eta_min == 0.0
    assert warmup.convert_to_iter_based and cosine.convert_to_iter_based
    assert cfg.train_cfg == dict(type='EpochBasedTrainLoop', max_epochs=release['epochs'])

    # Runtime.
    assert dict(type='NonFiniteLossHook') in cfg.custom_hooks
    assert cfg.default_scope == 'addp' and 'custom_imports' not in cfg
    assert cfg.randomness == dict(seed=0, diff_rank_seed=True)
    assert cfg.resume is True


def test_lr_scales_to_released_1_6e_3_at_batch_4096():
    cfg = _cfg('base')
    assert cfg.auto_scale_lr == dict(base_batch_size=256, enable=True)
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))],
                                  lr=cfg.optim_wrapper.optimizer.lr)
    # 64 GPUs x 64 images, through MMEngine's own scaling.
    fake_runner = SimpleNamespace(world_size=64, _train_dataloader=cfg.train_dataloader,
                                  logger=MMLogger.get_current_instance(), param_schedulers=None)
    Runner.scale_lr(fake_runner, OptimWrapper(optimizer), cfg.auto_scale_lr)
    assert cfg.train_dataloader.batch_size * 64 == 4096
    assert optimizer.param_groups[0]['lr'] == pytest.approx(1.6e-3, rel=1e-12)


def _official_lr(lr, epoch, warmup_epochs, epochs):
    """util/lr_sched.py of the official code, min_lr = 0."""
    if epoch < warmup_epochs:
        return lr * epoch / warmup_epochs
    return lr * 0.5 * (1. + math.cos(math.pi * (epoch - warmup_epochs) / (epochs - warmup_epochs)))


@pytest.mark.parametrize('name', ['base', 'large'])
def test_per_iteration_lr_follows_official_schedule(name):
    cfg, epochs, iters_per_epoch, peak = _cfg(name), RELEASE[name]['epochs'], 3, 1.6e-3
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=peak)
    schedulers = []
    for scheduler_cfg in cfg.param_scheduler:
        scheduler_cfg = dict(scheduler_cfg)
        scheduler_cfg.pop('convert_to_iter_based')
        scheduler_cls = PARAM_SCHEDULERS.get(scheduler_cfg.pop('type'))
        schedulers.append(scheduler_cls.build_iter_from_epoch(
            optimizer, epoch_length=iters_per_epoch, **scheduler_cfg))
    warmup_iters = 40 * iters_per_epoch
    for it in range(epochs * iters_per_epoch):
        lr = optimizer.param_groups[0]['lr']
        official = _official_lr(peak, it / iters_per_epoch, 40, epochs)
        if it < warmup_iters:
            # LinearLR starts at 1e-4 * lr and peaks one iteration early: within one step.
            assert abs(lr - official) <= peak / warmup_iters + 1e-15, it
        else:
            assert lr == pytest.approx(official, rel=1e-9, abs=1e-15), it
        for scheduler in schedulers:
            scheduler.step()
    assert lr < peak * 1e-5


def test_smoke_run_trains_the_tiny_model_on_its_own_data():
    cfg = Config.fromfile(osp.join(CONFIGS, 'smoke_tiny.py'))
    frozen = 'data/addp_smoke/frozen'
    assert cfg.model.to_dict() == tiny_addp_cfg(f'{frozen}/tiny_vqgan.ckpt',
                                                f'{frozen}/tiny_mage.pth')
    # SmokeRunner writes the stand-ins where the model reads them.
    assert cfg.model.tokenizer.checkpoint.startswith(cfg.smoke_data_root + '/')
    assert cfg.model.token_predictor.checkpoint.startswith(cfg.smoke_data_root + '/')
    assert cfg.runner_type == 'SmokeRunner' and cfg.smoke_data_root == 'data/addp_smoke'
    assert cfg.train_dataloader.dataset.data_root == cfg.smoke_data_root
    assert cfg.optim_wrapper.type == 'OptimWrapper'  # CPU: no autocast
    assert cfg.optim_wrapper.paramwise_cfg == _cfg('base').optim_wrapper.paramwise_cfg
