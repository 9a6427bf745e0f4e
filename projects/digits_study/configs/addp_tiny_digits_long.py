# ADDP on the digits for 400 epochs (9,000 steps of 64 from 1,437 images), for the small-scale
# study (projects/digits_study/tools/run_study.sh). A checkpoint every 600 steps (26.7 epochs)
# is kept, so that the study reads the encoder at 27, 134, 267 and 401 epochs of one run.
#   python tools/train.py projects/digits_study/configs/addp_tiny_digits_long.py
_base_ = ['../../../configs/digits/addp_tiny_digits.py']

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
