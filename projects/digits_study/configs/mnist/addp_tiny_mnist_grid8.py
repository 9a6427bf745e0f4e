# ADDP at the fine token layout (8 x 8 grid of 256 codes, 4 px patches) on MNIST-5k, for the
# MNIST study: 2,400 steps of 64 from 4,000 images (38 epochs), a checkpoint every 600 steps
# kept, so that the study reads one run at 10, 19, 29 and 38 epochs (an ADDP step took 0.80 s
# on 2 CPU cores: 32 minutes).
#   python tools/train.py projects/digits_study/configs/mnist/addp_tiny_mnist_grid8.py
_base_ = ['../../../../configs/digits/addp_tiny_grid8.py']

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
    checkpoint=dict(by_epoch=False, interval=600, max_keep_ckpts=-1))
