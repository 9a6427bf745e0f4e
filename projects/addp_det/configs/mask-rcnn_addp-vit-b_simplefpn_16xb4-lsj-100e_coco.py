# ADDP ViT-B/16 in ViTDet Mask R-CNN on COCO. Paper target: 51.7 box AP.
_base_ = ['./_base_/mask-rcnn_addp-vitdet.py', './_base_/coco-instance_lsj-1024_100e.py']

# An official ADDP checkpoint or one of this project's pretraining checkpoints.
pretrained = 'data/pretrained/addp-vit-base-16.pth'
image_size = (1024, 1024)

model = dict(
    data_preprocessor=dict(
        # Every image, at most 1024 after resizing, is padded to the 1024 square.
        pad_size_divisor=image_size[0],
        batch_augments=[dict(type='BatchFixedSizePad', size=image_size, pad_mask=True)]),
    backbone=dict(
        arch='b',
        img_size=image_size[0],
        global_attn_indexes=(2, 5, 8, 11),
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(backbone_channel=768, in_channels=[192, 384, 768, 768]))

optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.7))
