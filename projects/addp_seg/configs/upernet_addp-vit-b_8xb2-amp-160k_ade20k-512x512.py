# ADDP ViT-B/16 in UperNet on ADE20k, the MAE recipe. Paper target: 48.1 mIoU.
_base_ = [
    'mmseg::_base_/models/upernet_mae.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_160k.py'
]

custom_imports = dict(
    imports=['projects.addp_seg.addp_seg'], allow_failed_imports=False)
# Every rank's random states go into checkpoints, so that --resume continues the same run.
custom_hooks = [dict(type='RandomStateHook')]

# An official ADDP checkpoint or one of this project's pretraining checkpoints.
pretrained = 'data/pretrained/addp-vit-base-16.pth'
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)

model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='ADDPViT',
        arch='b',
        img_size=crop_size,
        patch_size=16,
        # Four depths as (B, C, 32, 32) maps for a 512 x 512 crop.
        out_indices=(3, 5, 7, 11),
        out_type='featmap',
        final_norm=False,
        tokenizer_norm=False,
        normalize_input=False,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    # Strides 4, 8, 16, 32: (B, C, 128, 128) to (B, C, 16, 16) for a 512 x 512 crop.
    neck=dict(embed_dim=768, rescales=[4, 2, 1, 0.5]),
    decode_head=dict(in_channels=[768, 768, 768, 768], channels=768, num_classes=150),
    auxiliary_head=dict(in_channels=768, num_classes=150),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    # No weight decay on biases, norms and embeddings, as in mmseg's MAE recipe.
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        flat_decay_mult=0.,
        custom_keys={
            'backbone.pos_embed': dict(decay_mult=0.),
            'backbone.cls_token': dict(decay_mult=0.)
        }))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0., by_epoch=False, begin=1500, end=160000),
]

# 16 images per iteration: 8 GPUs x 2 images.
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
