# A two-minute CPU smoke run of ADDP pretraining: the tiny model on 32 procedurally drawn images.
# It runs the real recipe at toy scale (pipeline, AdamW groups, warm-up + cosine, gradient
# clipping, non-finite loss stop, checkpoints without frozen parts). Its frozen tokenizer and
# token predictor are randomly initialised tiny stand-ins, not the released models, so the
# loss it prints says nothing about ADDP's quality.
#   python tools/train.py configs/addp/smoke_tiny.py
_base_ = [
    '../_base_/models/addp_vit_tiny.py',
    '../_base_/datasets/imagenet_bs64_addp_pretrain.py',
    '../_base_/schedules/addp_pretrain_1600e.py',
    '../_base_/default_runtime.py',
]

# SmokeRunner writes the images and the frozen stand-ins under smoke_data_root first.
runner_type = 'SmokeRunner'
smoke_data_root = 'data/addp_smoke'

train_pipeline = [
    dict(type='LoadAnyImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(
        _delete_=True,
        type='CheckedCustomDataset',
        data_root=smoke_data_root,
        data_prefix='images',
        with_label=False,
        pipeline=train_pipeline))

# 10 epochs of 4 iterations; fp32 on CPU; a larger lr so that 40 steps move the loss.
max_epochs = 10
warmup_epochs = 2
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
                     clip_grad=dict(max_norm=3.0),
                     constructor='FrozenAwareOptimWrapperConstructor',
                     paramwise_cfg=dict(flat_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=0.0, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(enable=False)

default_hooks = dict(
    logger=dict(interval=4),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2))
