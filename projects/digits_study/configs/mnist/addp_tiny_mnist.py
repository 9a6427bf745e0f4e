# ADDP at the quick demo's layout (4 x 4 grid of 32 codes, 8 px patches) on MNIST-5k, as long
# as addp_tiny_mnist_grid8.py beside this file and kept at the same lengths, so that the MNIST
# study's curves and one table isolate the token layout.
#   python tools/train.py projects/digits_study/configs/mnist/addp_tiny_mnist.py
_base_ = ['../../../../configs/digits/addp_tiny_digits.py', './mnist_study.py']

data_root = {{_base_.mnist_data_root}}
train_dataloader = dict(dataset=dict(data_root=data_root))
max_iters = {{_base_.mnist_max_iters}}
param_scheduler = {{_base_.mnist_param_scheduler}}
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval={{_base_.mnist_read_every}}, max_keep_ckpts=-1))
