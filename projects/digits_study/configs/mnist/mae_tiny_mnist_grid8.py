# The recognition baseline of the MNIST study: mmpretrain's MAE of mae_tiny_digits_long.py
# at 4 px patches (the fine layout's patch), on the same MNIST-5k, batch, optimiser and steps
# as addp_tiny_mnist_grid8.py beside this file.
#   python tools/train.py projects/digits_study/configs/mnist/mae_tiny_mnist_grid8.py
_base_ = ['../mae_tiny_digits_long.py', '../../../../configs/_base_/models/token_layout_grid8.py',
          './mnist_study.py']

patch_size = {{_base_.grid8_patch_size}}
model = dict(
    backbone=dict(patch_size=patch_size),
    neck=dict(num_patches={{_base_.grid8_num_tokens}}, patch_size=patch_size),
    head=dict(patch_size=patch_size))
data_root = {{_base_.mnist_data_root}}
train_dataloader = dict(dataset=dict(data_root=data_root))
max_iters = {{_base_.mnist_max_iters}}
param_scheduler = {{_base_.mnist_param_scheduler}}
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval={{_base_.mnist_read_every}}, max_keep_ckpts=-1))
