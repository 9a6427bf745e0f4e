# A CPU-sized run of the fine-tuning recipe for smoke tests: a 2-block, 32-wide ADDP ViT on
# 32 px images from a folder of class subfolders, for 2 short epochs. Every part of the
# released recipe (RandAugment, random erasing, mixup/cutmix, label smoothing, layer-wise lr
# decay, warm-up and cosine) runs, at toy scale. It starts from the pretraining demo's
# checkpoint (python tools/train.py configs/addp/smoke_tiny.py); point it elsewhere with
#   --cfg-options model.backbone.init_cfg.checkpoint=FILE train_dataloader.dataset.data_root=DIR
#   val_dataloader.dataset.data_root=DIR test_dataloader.dataset.data_root=DIR
_base_ = './finetune_base_100e_custom.py'

data_root = 'data/tiny_classes'
img_size = 32

model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=32, num_layers=2, num_heads=2),
        img_size=img_size,
        patch_size=4,
        init_cfg=dict(checkpoint='work_dirs/smoke_tiny/epoch_10.pth')),
    head=dict(in_channels=32))

train_pipeline = [
    dict(type='LoadAnyImageFromFile'),
    dict(type='RandomResizedCrop', scale=img_size, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=[103.53, 116.28, 123.675],
        fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadAnyImageFromFile'),
    dict(type='ResizeEdge', scale=img_size, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# full precision: runs on a CPU
optim_wrapper = dict(type='OptimWrapper')
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=1, by_epoch=True, begin=1, end=2,
         eta_min_ratio=1e-6 / (1e-3 * 1024 / 256), convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(max_keep_ckpts=1))
