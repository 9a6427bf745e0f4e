# The token predictor of the MNIST study at the fine token layout, on the codes of
# configs/digits/vqgan_tiny_grid8.py trained on MNIST: 2,400 steps (the quick recipe's 1,600
# and a half), since ADDP's targets and the MaskGIT-style baseline samples both come from it.
#   python tools/train.py projects/digits_study/configs/mnist/mage_tiny_mnist_grid8.py
_base_ = ['../../../../configs/digits/mage_tiny_grid8.py']

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
