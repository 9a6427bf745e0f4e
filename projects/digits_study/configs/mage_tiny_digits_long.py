# The token predictor of the small-scale study (projects/digits_study/tools/run_study.sh):
# twice the quick recipe's steps, since ADDP's targets and the MaskGIT-style baseline samples
# both come from it.
#   python tools/train.py projects/digits_study/configs/mage_tiny_digits_long.py
_base_ = ['../../../configs/digits/mage_tiny_digits.py']

max_iters = 3200
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters,
         T_max=max_iters - 100, eta_min=1e-5),
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
