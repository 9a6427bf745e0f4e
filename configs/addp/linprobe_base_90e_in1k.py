# Linear probing of a frozen ADDP ViT-B/16 on ImageNet-1k at 256 px for 90 epochs, following
# MAGE's main_linprobe.py (the official ADDP code has no linear probe; MAGE ViT-B reports 74.7):
# globally pooled patch tokens through a parameter-free LayerNorm, BatchNorm without affine,
# then a linear layer trained with LARS. 8 GPUs x 512 images = MAGE's batch of 4096.
_base_ = [
    '../_base_/datasets/imagenet_bs512_linprobe_256.py',
    'mmpretrain::_base_/default_runtime.py',
]
default_scope = 'addp'
# Every rank's random states go into checkpoints, so that --resume continues the same run.
custom_hooks = [dict(type='RandomStateHook')]

pretrained = 'data/pretrained/addp-vit-base-16.pth'

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ADDPViT',
        arch='b',
        img_size=256,
        patch_size=16,
        # frozen as pretrained, embedding norm included; fc_norm stays an identity-affine norm
        frozen_stages=12,
        tokenizer_norm=True,
        normalize_input=False,
        out_type='avg_featmap',
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(type='ClsBatchNormNeck', input_features=768, affine=False, eps=1e-6),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))

# Base lr 0.1 at batch 256, scaled to the batch of 4096 (blr * 4096 / 256); no weight decay.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='LARS', lr=0.1 * 4096 / 256, weight_decay=0.0, momentum=0.9),
    # MAGE's LARS leaves 1-D parameters out of the trust-ratio scaling
    paramwise_cfg=dict(custom_keys={'head.fc.bias': dict(lars_exclude=True)}))

# Linear warm-up for 10 epochs, then a half cosine down to 0.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=80,
        by_epoch=True,
        begin=10,
        end=90,
        eta_min=0.0,
        convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=4096)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'))

randomness = dict(seed=0, diff_rank_seed=True)
