# ADDP at the fine token layout (8 x 8 grid of 256 codes, 4 px patches) on MNIST-5k, for the
# MNIST study, at its length (mnist_study.py): a checkpoint every 600 steps kept (an ADDP
# step took 0.80 s on 2 CPU cores: 32 minutes in all).
#   python tools/train.py projects/digits_study/configs/mnist/addp_tiny_mnist_grid8.py
_base_ = ['../../../../configs/digits/addp_tiny_grid8.py', './mnist_study.py']

data_root = {{_base_.mnist_data_root}}
train_dataloader = dict(dataset=dict(data_root=data_root))
max_iters = {{_base_.mnist_max_iters}}
param_scheduler = {{_base_.mnist_param_scheduler}}
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval={{_base_.mnist_read_every}}, max_keep_ckpts=-1))
