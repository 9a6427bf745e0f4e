# Stage 3 of 3 on the digits: ADDP pretraining with the frozen tokenizer and token predictor
# of stages 1 and 2 (work_dirs/digits_demo/{tokenizer.ckpt,token_predictor.pth}).
#   python tools/train.py configs/digits/addp_tiny_digits.py
# Sampling reads this config too:
#   python tools/generate.py configs/digits/addp_tiny_digits.py CKPT --num-images 100 --out DIR
_base_ = [
    '../_base_/models/addp_digits_tiny.py',
    '../_base_/datasets/digits_32px.py',
    '../_base_/schedules/digits_iters.py',
    '../_base_/default_runtime.py',
]

max_iters = 600
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters,
         T_max=max_iters - 100, eta_min=1e-5),
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
