# The token predictor of the MNIST study at the quick demo's layout (4 x 4 grid of 32 codes),
# as long as mage_tiny_mnist_grid8.py beside this file.
#   python tools/train.py projects/digits_study/configs/mnist/mage_tiny_mnist.py
_base_ = ['../../../../configs/digits/mage_tiny_digits.py', './mnist_study.py']

data_root = {{_base_.mnist_data_root}}
train_dataloader = dict(dataset=dict(data_root=data_root))
max_iters = {{_base_.mnist_max_iters}}
param_scheduler = {{_base_.mnist_param_scheduler}}
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
