"""The fine-tuning and linear-probe configs resolve to the released recipes."""
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS
from mmpretrain.structures import DataSample

from addp.registry import MODELS

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'addp')

# From the official configs/release/{base,large}/finetune_addp_*.sh and main_finetune.py
# defaults: total batch 1024, lr = blr * batch / 256, min_lr 1e-6, AdamW (0.9, 0.999).
RELEASED_FINETUNE = {
    'finetune_base_100e_in1k.py': dict(
        arch='b', width=768, blr=1e-3, layer_decay=0.65, drop_path=0.1, warmup=20, epochs=100),
    'finetune_large_50e_in1k.py': dict(
        arch='l', width=1024, blr=2.5e-4, layer_decay=0.8, drop_path=0.2, warmup=5, epochs=50),
}
RELEASED_BATCH = 1024
GPUS = 8


def load(name: str) -> Config:
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def official_lr(epoch: float, peak: float, min_lr: float, warmup: int, epochs: int) -> float:
    """The release's per-iteration schedule (util/lr_sched.py), written out independently."""
    if epoch < warmup:
        return peak * epoch / warmup
    progress = (epoch - warmup) / (epochs - warmup)
    return min_lr + (peak - min_lr) * 0.5 * (1. + math.cos(math.pi * progress))


def pipeline_step(pipeline, kind: str) -> dict:
    steps = [t for t in pipeline if t['type'] == kind]
    assert len(steps) == 1, f'expected one {kind} in {[t["type"] for t in pipeline]}'
    return steps[0]


@pytest.mark.parametrize('name', sorted(RELEASED_FINETUNE))
def test_finetune_config_matches_release(name):
    release = RELEASED_FINETUNE[name]
    cfg = load(name)
    backbone, head = cfg.model.backbone, cfg.model.head

    assert cfg.model.type == 'ImageClassifier'
    assert backbone.type == 'ADDPViT' and backbone.arch == release['arch']
    assert (backbone.img_size, backbone.patch_size) == (256, 16)
    assert backbone.drop_path_rate == release['drop_path']
    # global average pooling through fc_norm, as the official fine-tuning ViT
    assert backbone.out_type == 'avg_featmap' and backbone.final_norm is False
    assert backbone.init_cfg.type == 'Pretrained'
    assert head.in_channels == release['width'] and head.num_classes == 1000
    assert head.init_cfg == [dict(type='TruncNormal', layer='Linear', std=2e-5)]
    assert head.loss == dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')
    assert cfg.model.train_cfg.augments == [
        dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]

    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'AdamW' and optimizer.weight_decay == 0.05
    assert tuple(optimizer.betas) == (0.9, 0.999)
    total_batch = cfg.train_dataloader.batch_size * GPUS
    assert total_batch == RELEASED_BATCH == cfg.auto_scale_lr.base_batch_size
    assert optimizer.lr == pytest.approx(release['blr'] * RELEASED_BATCH / 256)
    assert cfg.optim_wrapper.constructor == 'LearningRateDecayOptimWrapperConstructor'
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == release['layer_decay']

    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, release['warmup'])
    assert (cosine.type, cosine.begin, cosine.end) == ('CosineAnnealingLR', release['warmup'],
                                                       release['epochs'])
    assert cosine.T_max == release['epochs'] - release['warmup']
    assert cosine.eta_min_ratio * optimizer.lr == pytest.approx(1e-6)
    assert cfg.train_cfg.max_epochs == release['epochs']

    train = cfg.train_dataloader.dataset.pipeline
    crop = pipeline_step(train, 'RandomResizedCrop')
    assert crop.scale == 256 and crop.interpolation == 'bicubic'
    assert pipeline_step(train, 'RandomFlip').prob == 0.5
    randaug = pipeline_step(train, 'RandAugment')  # rand-m9-mstd0.5-inc1
    assert (randaug.policies, randaug.num_policies, randaug.magnitude_level,
            randaug.magnitude_std, randaug.total_level) == ('timm_increasing', 2, 9, 0.5, 10)
    erasing = pipeline_step(train, 'RandomErasing')
    assert erasing.erase_prob == 0.25 and erasing.mode == 'rand'
    assert erasing.fill_std is not None  # per-pixel noise, timm's 'pixel' mode
    # evaluation at 256: crop ratio 1.0, so resize the short edge to 256 and crop 256
    test = cfg.test_dataloader.dataset.pipeline
    resize = pipeline_step(test, 'ResizeEdge')
    assert (resize.scale, resize.edge, resize.interpolation) == (256, 'short', 'bicubic')
    assert pipeline_step(test, 'CenterCrop').crop_size == 256
    assert cfg.data_preprocessor.mean == [123.675, 116.28, 103.53]
    assert cfg.data_preprocessor.std == [58.395, 57.12, 57.375]


@pytest.mark.parametrize('name', sorted(RELEASED_FINETUNE))
def test_finetune_schedule_follows_release(name):
    """Every iteration's lr of two layer groups equals the release's schedule times the
    group's scale, within one warm-up increment (MMEngine reaches the peak one iteration
    earlier, and starts from 1e-4 of it rather than 0)."""
    release = RELEASED_FINETUNE[name]
    cfg = load(name)
    peak = cfg.optim_wrapper.optimizer.lr
    scales = (1.0, release['layer_decay']**3)
    params = [nn.Parameter(torch.zeros(1)) for _ in scales]
    optimizer = torch.optim.SGD(
        [dict(params=[p], lr=peak * s) for p, s in zip(params, scales)], lr=peak)
    iters_per_epoch = 4
    tolerance = 1.01 * peak / (release['warmup'] * iters_per_epoch)
    schedulers = [
        PARAM_SCHEDULERS.build(
            dict(scheduler, optimizer=optimizer, epoch_length=iters_per_epoch))
        for scheduler in cfg.param_scheduler
    ]
    for step in range(release['epochs'] * iters_per_epoch):
        expected = official_lr(step / iters_per_epoch, peak, 1e-6, release['warmup'],
                               release['epochs'])
        for group, scale in zip(optimizer.param_groups, scales):
            assert group['lr'] == pytest.approx(expected * scale, abs=tolerance * scale), step
        optimizer.step()
        for scheduler in schedulers:
            scheduler.step()


def official_param_groups(model: nn.Module, weight_decay: float, layer_decay: float) -> dict:
    """(lr scale, weight decay) per parameter by the release's util/lr_decay.py rule, on the
    official names (``backbone.`` stripped, ``head.fc.`` -> ``head.``)."""
    num_blocks = len(model.backbone.blocks)
    top = num_blocks + 1
    no_weight_decay = {'pos_embed', 'cls_token', 'dist_token'}  # timm ViT.no_weight_decay()
    groups = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        official = name.replace('backbone.', '', 1).replace('head.fc.', 'head.', 1)
        if official in ('cls_token', 'pos_embed') or official.startswith('patch_embed'):
            layer = 0
        elif official.startswith('blocks'):
            layer = int(official.split('.')[1]) + 1
        else:
            layer = top
        decay = 0. if param.ndim == 1 or official in no_weight_decay else weight_decay
        groups[name] = (layer_decay**(top - layer), decay, layer)
    return groups


@pytest.mark.parametrize('name, blocks', [('finetune_base_100e_in1k.py', 12),
                                          ('finetune_large_50e_in1k.py', 24)])
def test_layer_decay_groups_match_release(name, blocks):
    """Builds the real classifier and its optimizer from the config; every parameter's layer
    id, lr scale, lr and weight decay equal the official assignment."""
    cfg = load(name)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    optim_cfg = dict(cfg.optim_wrapper, type='OptimWrapper')  # the constructor is under test
    optimizer = build_optim_wrapper(model, optim_cfg).optimizer
    base_lr = cfg.optim_wrapper.optimizer.lr
    decay_rate = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    expected = official_param_groups(model, cfg.optim_wrapper.optimizer.weight_decay, decay_rate)

    got = {g['param_name']: g for g in optimizer.param_groups}
    assert set(got) == set(expected)
    for param_name, (scale, decay, layer) in expected.items():
        group = got[param_name]
        assert group['layer_id'] == layer, param_name
        assert group['lr_scale'] == pytest.approx(scale), param_name
        assert group['lr'] == pytest.approx(base_lr * scale), param_name
        assert group['weight_decay'] == decay, param_name

    # the assignment itself: embeddings at 0, block i at i + 1, fc_norm and head at the top
    top = blocks + 1
    assert expected['backbone.patch_embed.proj.weight'][2] == 0
    assert expected['backbone.blocks.0.attn.qkv.weight'][2] == 1
    assert expected[f'backbone.blocks.{blocks - 1}.mlp.fc2.weight'][2] == blocks
    assert expected['backbone.fc_norm.weight'][2] == expected['head.fc.weight'][2] == top
    assert got['backbone.cls_token']['lr_scale'] == pytest.approx(decay_rate**top)
    assert got['head.fc.weight']['lr_scale'] == 1.
    assert got['backbone.pos_embed']['weight_decay'] == 0.
    assert got['head.fc.weight']['weight_decay'] == 0.05
    assert got['head.fc.bias']['weight_decay'] == 0.


@pytest.mark.parametrize('name, blocks, width', [('linprobe_base_90e_in1k.py', 12, 768),
                                                 ('linprobe_large_90e_in1k.py', 24, 1024)])
def test_linprobe_config_follows_mage(name, blocks, width):
    cfg = load(name)
    backbone = cfg.model.backbone
    assert backbone.frozen_stages == blocks and backbone.out_type == 'avg_featmap'
    assert backbone.final_norm is False
    assert cfg.model.neck == dict(type='ClsBatchNormNeck', input_features=width, affine=False,
                                  eps=1e-6)
    assert cfg.model.head.in_channels == width
    assert cfg.model.head.loss == dict(type='CrossEntropyLoss')
    assert cfg.model.head.init_cfg == [dict(type='TruncNormal', layer='Linear', std=0.01)]
    assert 'train_cfg' not in cfg.model  # no mixup, no smoothing

    # MAGE: LARS, blr 0.1 at batch 256, batch 4096, no weight decay, 10 + 80 epochs
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'LARS' and optimizer.momentum == 0.9
    assert optimizer.weight_decay == 0.
    assert cfg.train_dataloader.batch_size * GPUS == 4096 == cfg.auto_scale_lr.base_batch_size
    assert optimizer.lr == pytest.approx(0.1 * 4096 / 256)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.end, cosine.begin, cosine.end, cosine.eta_min) == (10, 10, 90, 0.)
    assert cfg.train_cfg.max_epochs == 90

    crop = pipeline_step(cfg.train_dataloader.dataset.pipeline, 'RandomResizedCrop')
    assert crop.scale == 256 and tuple(crop.crop_ratio_range) == (0.2, 1.0)
    test = cfg.test_dataloader.dataset.pipeline
    assert pipeline_step(test, 'ResizeEdge').scale == 292
    assert pipeline_step(test, 'CenterCrop').crop_size == 256


def test_linprobe_trains_only_the_linear_layer():
    """With every block frozen, only the head learns; fc_norm and the embedding norm stay as
    they are and the frozen parts run in eval mode."""
    cfg = load('linprobe_base_90e_in1k.py')
    cfg.model.backbone.update(
        arch=dict(embed_dims=32, num_layers=2, num_heads=2), img_size=32, patch_size=4,
        frozen_stages=2, init_cfg=None)
    cfg.model.neck.input_features = cfg.model.head.in_channels = 32
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    trainable = sorted(n for n, p in model.named_parameters() if p.requires_grad)
    assert trainable == ['head.fc.bias', 'head.fc.weight']
    backbone = model.backbone
    assert not backbone.tokenizer_dropout.training and not backbone.blocks[1].training
    images = torch.rand(2, 3, 32, 32)
    assert torch.equal(backbone(images)[0], backbone(images)[0])  # no dropout in features

    optimizer = build_optim_wrapper(model, dict(cfg.optim_wrapper, type='OptimWrapper'))
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    head_before = model.head.fc.weight.detach().clone()
    data = model.data_preprocessor(
        dict(inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)] * 4,
             data_samples=None), True)
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    loss = model(data['inputs'], samples, mode='loss')['loss']
    optimizer.update_params(loss)
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters()
               if not p.requires_grad)
    assert not torch.equal(model.head.fc.weight, head_before)
