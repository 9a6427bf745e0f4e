# Linear probing of a frozen ADDP ViT-L/16 on ImageNet-1k at 256 px for 90 epochs, following
# MAGE's main_linprobe.py (MAGE ViT-L reports 78.9).
_base_ = './linprobe_base_90e_in1k.py'

pretrained = 'data/pretrained/addp-vit-large-16.pth'

model = dict(
    backbone=dict(
        arch='l', frozen_stages=24, init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(input_features=1024),
    head=dict(in_channels=1024))
