# ADDP ViT-L/16 in UperNet on ADE20k. Paper target: 54.3 mIoU.
_base_ = ['./upernet_addp-vit-b_8xb2-amp-160k_ade20k-512x512.py']

# An official ADDP checkpoint or one of this project's pretraining checkpoints.
pretrained = 'data/pretrained/addp-vit-large-16.pth'

model = dict(
    backbone=dict(
        arch='l',
        out_indices=(7, 11, 15, 23),
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(embed_dim=1024),
    decode_head=dict(in_channels=[1024, 1024, 1024, 1024], channels=1024),
    auxiliary_head=dict(in_channels=1024))

optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9))
