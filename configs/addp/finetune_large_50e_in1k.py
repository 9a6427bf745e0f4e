# ADDP ViT-L/16 fine-tuned end to end on ImageNet-1k at 256 px for 50 epochs: the released
# recipe (85.9 top-1). 8 GPUs x 128 images = the released batch of 1024.
_base_ = './finetune_base_100e_in1k.py'

pretrained = 'data/pretrained/addp-vit-large-16.pth'

model = dict(
    backbone=dict(
        arch='l', drop_path_rate=0.2, init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    head=dict(in_channels=1024))

# Base lr 2.5e-4 at batch 256, scaled to the batch of 1024 (blr * 1024 / 256).
optim_wrapper = dict(
    optimizer=dict(lr=2.5e-4 * 1024 / 256), paramwise_cfg=dict(layer_decay_rate=0.8))

# Linear warm-up for 5 epochs, then a half cosine down to min_lr 1e-6.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=45,
        by_epoch=True,
        begin=5,
        end=50,
        eta_min_ratio=1e-6 / (2.5e-4 * 1024 / 256),
        convert_to_iter_based=True),
]

train_cfg = dict(max_epochs=50)
