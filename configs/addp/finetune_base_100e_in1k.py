# ADDP ViT-B/16 fine-tuned end to end on ImageNet-1k at 256 px for 100 epochs: the released
# recipe (83.9 top-1). 8 GPUs x 128 images = the released batch of 1024.
_base_ = [
    '../_base_/datasets/imagenet_bs128_finetune_256.py',
    'mmpretrain::_base_/default_runtime.py',
]
default_scope = 'addp'
# Every rank's random states go into checkpoints, so that --resume continues the same run.
custom_hooks = [dict(type='RandomStateHook')]

# A released ADDP pretraining checkpoint, or one of this project's pretraining checkpoints.
pretrained = 'data/pretrained/addp-vit-base-16.pth'

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ADDPViT',
        arch='b',
        img_size=256,
        patch_size=16,
        # global average pooling of the patch tokens through fc_norm, no final norm
        out_type='avg_featmap',
        final_norm=False,
        # the fine-tuning ViT embeds pixels without the pretraining-time norm
        tokenizer_norm=False,
        normalize_input=False,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        # with mixed targets this equals timm's smoothed mixup + soft-target cross entropy
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)]),
    # every batch gets either mixup or cutmix, with equal probability
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))

# Base lr 1e-3 at batch 256, scaled to the batch of 1024 as the release does (blr * 1024 / 256).
optim_wrapper = dict(
    # the release trains with fp16 autocast and a dynamic loss scale
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3 * 1024 / 256, weight_decay=0.05, betas=(0.9, 0.999)),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        # no weight decay on 1-D parameters (biases, norms), the class token and pos_embed
        flat_decay_mult=0.0,
        custom_keys={
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
        }))

# Linear warm-up for 20 epochs, then a half cosine down to min_lr 1e-6 (each layer's lr_scale
# applies to min_lr too, as in the release), updated every iteration.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=20,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=80,
        by_epoch=True,
        begin=20,
        end=100,
        eta_min_ratio=1e-6 / (1e-3 * 1024 / 256),
        convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# lr above is for a total batch of 1024; --auto-scale-lr rescales it to the actual batch
auto_scale_lr = dict(base_batch_size=1024)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'))

randomness = dict(seed=0, diff_rank_seed=True)
