# Stage 2 of 3 on the digits: train the token predictor on the stage-1 tokenizer's codes.
#   python tools/train.py configs/digits/mage_tiny_digits.py
# Reads work_dirs/digits_demo/tokenizer.ckpt (tools/run_demo.sh exports it there), or
#   --cfg-options model.tokenizer.checkpoint=work_dirs/vqgan_tiny_digits/iter_1200.pth
_base_ = [
    '../_base_/models/mage_digits_tiny.py',
    '../_base_/datasets/digits_32px.py',
    '../_base_/schedules/digits_iters.py',
    '../_base_/default_runtime.py',
]

model = dict(token_predictor=dict(checkpoint=None))

max_iters = 1600
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters,
         T_max=max_iters - 100, eta_min=1e-5),
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
