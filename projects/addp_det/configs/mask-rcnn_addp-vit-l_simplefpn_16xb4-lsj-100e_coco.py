# ADDP ViT-L/16 in ViTDet Mask R-CNN on COCO. Paper target: 54.6 box AP.
_base_ = ['./mask-rcnn_addp-vit-b_simplefpn_16xb4-lsj-100e_coco.py']

# An official ADDP checkpoint or one of this project's pretraining checkpoints.
pretrained = 'data/pretrained/addp-vit-large-16.pth'

model = dict(
    backbone=dict(
        arch='l',
        global_attn_indexes=(5, 11, 17, 23),
        drop_path_rate=0.4,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(backbone_channel=1024, in_channels=[256, 512, 1024, 1024]))

optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8))
