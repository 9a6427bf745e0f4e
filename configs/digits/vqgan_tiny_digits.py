# Stage 1 of 3 on the digits: train the tokenizer from scratch.
#   python tools/train.py configs/digits/vqgan_tiny_digits.py
# It validates on a tenth of the train split, held out with a fixed seed; the test split only
# reports, once, at the end:
#   python tools/test.py configs/digits/vqgan_tiny_digits.py work_dirs/.../iter_1200.pth
_base_ = [
    '../_base_/models/vqgan_digits_tiny.py',
    '../_base_/datasets/digits_32px.py',
    '../_base_/schedules/digits_iters.py',
    '../_base_/tokenizer_runtime.py',
]

model = dict(tokenizer=dict(checkpoint=None))
# The validation images: a tenth of train, the same files for every run with this seed.
val_holdout = dict(fraction=0.1, seed=0)
train_dataloader = dict(batch_size=32, dataset=dict(holdout=dict(val_holdout, part='train')))

# 1,200 steps at twice the other stages' lr: the autoencoder learns slowly (on MNIST, 600 steps
# at 2e-3 gave 19.5 dB held out, 1,200 at 4e-3 gave 21.6).
max_iters = 1200
# GAN-style Adam betas, as taming trains its VQGAN; no weight decay on convs or codes.
optim_wrapper = dict(
    optimizer=dict(lr=4e-3, betas=(0.5, 0.9), weight_decay=0.0), clip_grad=None)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters,
         T_max=max_iters - 50, eta_min=1e-5),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))

val_dataloader = dict(
    batch_size=120,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CheckedCustomDataset',
        data_root={{_base_.data_root}},
        data_prefix='train',
        holdout=dict(val_holdout, part='val'),
        with_label=False,
        pipeline={{_base_.pretrain_pipeline}}))
val_cfg = dict(type='ValLoop')
val_evaluator = dict(type='ReconstructionMetric')
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], data_prefix='test', holdout=None))
test_cfg = dict(type='TestLoop')
test_evaluator = val_evaluator
