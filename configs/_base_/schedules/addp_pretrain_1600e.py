# The released ADDP pretraining optimisation, 1600 epochs (ViT-B).
max_epochs = 1600
warmup_epochs = 40

optim_wrapper = dict(
    # fp16 autocast with a dynamic loss scaler, as released (--amp_growth_interval 500).
    # bf16: tools/train.py --amp-dtype bfloat16. fp32: type='OptimWrapper'.
    type='AmpOptimWrapper',
    dtype='float16',
    loss_scale=dict(growth_interval=500),
    # The base lr 1e-4 is per 256 images; auto_scale_lr multiplies it by the total batch / 256.
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
    constructor='FrozenAwareOptimWrapperConstructor',
    # The official groups (timm param_groups_weight_decay): no decay for tensors of ndim <= 1
    # (norms, biases) and names ending in ".bias" (also the decoder's (1, 1, V) MLM bias).
    # Unlike MAE, cls_token, pos_embed*, mask_token and token_embed keep weight decay there.
    paramwise_cfg=dict(flat_decay_mult=0.0, bias_decay_mult=0.0))

# Per iteration: linear warm-up, then half-cycle cosine to 0. The official warm-up is
# lr * t / T from 0; LinearLR cannot start at 0, so it starts at 1e-4 * lr and peaks one
# iteration earlier: at most lr / T apart. The cosine part matches it exactly.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=0.0,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# Released total batch: 4096 (e.g. 64 GPUs x 64 images); lr = 1e-4 * 4096 / 256 = 1.6e-3.
auto_scale_lr = dict(base_batch_size=256, enable=True)
