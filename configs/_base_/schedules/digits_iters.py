# An iteration-based schedule for the digits stages: warm-up, then cosine decay.
max_iters = 1000
warmup_iters = 50

optim_wrapper = dict(
    type='OptimWrapper',
    # Twice the lr of larger recipes: these tiny models learn faster with it (4e-3 was worse).
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
    constructor='FrozenAwareOptimWrapperConstructor',
    paramwise_cfg=dict(flat_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup_iters, end=max_iters,
         T_max=max_iters - warmup_iters, eta_min=1e-5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
auto_scale_lr = dict(base_batch_size=64, enable=False)
log_processor = dict(by_epoch=False)
