# The recognition baseline of the small-scale study: mmpretrain's own MAE, with an MAEViT of
# the ADDP encoder's size (4 blocks, 128 wide, 8 px patches) and a decoder of the ADDP
# decoder's size, on the same digits, batch, optimiser and steps as
# addp_tiny_digits_long.py beside this file (tests/test_study.py here holds the two together).
#   python tools/train.py projects/digits_study/configs/mae_tiny_digits_long.py
_base_ = [
    'mmpretrain::_base_/models/mae_vit-base-p16.py',
    '../../../configs/_base_/datasets/digits_32px.py',
    '../../../configs/_base_/schedules/digits_iters.py',
    '../../../configs/_base_/default_runtime.py',
]

img_size = 32
patch_size = 8
embed_dims = 128
model = dict(
    # mmpretrain's MAE recipe normalises with the ImageNet statistics.
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=embed_dims, num_layers=4, num_heads=4,
                  feedforward_channels=4 * embed_dims),
        img_size=img_size, patch_size=patch_size),
    neck=dict(
        num_patches=(img_size // patch_size)**2, patch_size=patch_size, embed_dim=embed_dims,
        decoder_embed_dim=128, decoder_depth=2, decoder_num_heads=4),
    head=dict(patch_size=patch_size))

max_iters = 9000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters,
         T_max=max_iters - 100, eta_min=1e-5),
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=600, max_keep_ckpts=-1))
