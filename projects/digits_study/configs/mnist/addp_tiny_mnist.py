# ADDP at the quick demo's layout (4 x 4 grid of 32 codes, 8 px patches) on MNIST-5k, as long
# as addp_tiny_mnist_grid8.py beside this file: the MNIST study's one matched length, so that
# one table isolates the token layout.
#   python tools/train.py projects/digits_study/configs/mnist/addp_tiny_mnist.py
_base_ = ['../../../../configs/digits/addp_tiny_digits.py']

data_root = 'data/mnist'
train_dataloader = dict(dataset=dict(data_root=data_root))

max_iters = 2400
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters,
         T_max=max_iters - 100, eta_min=1e-5),
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
