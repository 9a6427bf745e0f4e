# Fine-tuning the digits demo's pretrained encoder with 10 labels per class (100 images),
# evaluated on the 360 test digits. The released fine-tuning layout (average-pooled patch
# tokens through fc_norm, layer-wise lr decay, label smoothing) at demo size, except that the
# embedding norm the encoder was pretrained with stays: 100 images cannot re-adapt a network
# to its removal.
#   python tools/train.py configs/digits/finetune_tiny_digits.py
# From random initialisation instead: --cfg-options model.backbone.init_cfg=None
# Another draw of the labelled images: train_dataloader.dataset.ann_file=meta/train_10shot_seed1.txt
_base_ = ['../_base_/models/addp_digits_tiny.py', 'mmpretrain::_base_/default_runtime.py']
default_scope = 'addp'
# Every rank's random states go into checkpoints, so that --resume continues the same run.
custom_hooks = [dict(type='RandomStateHook')]

pretrained = 'work_dirs/digits_demo/addp.pth'
data_root = 'data/digits'

model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(
        type='ADDPViT',
        arch={{_base_.model.backbone.arch}},
        img_size={{_base_.img_size}},
        patch_size={{_base_.patch_size}},
        out_type='avg_featmap',
        final_norm=False,
        tokenizer_norm=True,
        tokenizer_drop_rate=0.,
        normalize_input=False,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels={{_base_.model.neck.in_channels}},
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)]))

data_preprocessor = dict(
    num_classes=10, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
# Digits are not mirror-symmetric: crops only, no flips.
train_pipeline = [
    dict(type='LoadAnyImageFromFile', background=(0, 0, 0)),
    dict(type='RandomResizedCrop', scale={{_base_.img_size}}, crop_ratio_range=(0.6, 1.0),
         aspect_ratio_range=(0.8, 1.25), backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadAnyImageFromFile', background=(0, 0, 0)), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=20,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CheckedCustomDataset',
        data_root=data_root,
        ann_file='meta/train_10shot_seed0.txt',
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=120,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CheckedCustomDataset',
        data_root=data_root,
        ann_file='meta/test.txt',
        data_prefix='test',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

max_epochs = 50
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05, betas=(0.9, 0.999)),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        flat_decay_mult=0.0,
        custom_keys={
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 5, by_epoch=True, begin=5,
         end=max_epochs, eta_min=1e-6, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0, diff_rank_seed=True)
