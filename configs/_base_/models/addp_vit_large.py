# ADDP ViT-L/16 at 256 px: encoder 1024/24/16, decoder 1024/8/16, MAGE-L token predictor.
_base_ = './addp_vit_base.py'

model = dict(
    backbone=dict(arch='l'),
    neck=dict(in_channels=1024, embed_dims=1024),
    token_predictor=dict(arch='l', checkpoint='data/pretrained/mage-vitl-1600.pth'))
