# The token predictor of the MNIST study at the fine token layout, on the codes of
# configs/digits/vqgan_tiny_grid8.py trained on MNIST, at the study's length (mnist_study.py;
# the quick recipe's 1,600 and a half), since ADDP's targets and the MaskGIT-style baseline
# samples both come from it.
#   python tools/train.py projects/digits_study/configs/mnist/mage_tiny_mnist_grid8.py
_base_ = ['../../../../configs/digits/mage_tiny_grid8.py', './mnist_study.py']

data_root = {{_base_.mnist_data_root}}
train_dataloader = dict(dataset=dict(data_root=data_root))
max_iters = {{_base_.mnist_max_iters}}
param_scheduler = {{_base_.mnist_param_scheduler}}
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
