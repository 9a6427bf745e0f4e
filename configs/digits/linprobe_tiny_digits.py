# Linear probing of the digits demo's pretrained encoder with all 1,437 labels: frozen
# encoder, average-pooled patch tokens, BatchNorm without affine, then a linear layer (MAGE's
# linear-probe head), evaluated on the 360 test digits.
#   python tools/train.py configs/digits/linprobe_tiny_digits.py
_base_ = ['./finetune_tiny_digits.py']

model = dict(
    backbone=dict(frozen_stages={{_base_.model.backbone.arch.num_layers}}, drop_path_rate=0.),
    neck=dict(
        _delete_=True,
        type='ClsBatchNormNeck',
        input_features={{_base_.model.head.in_channels}},
        affine=False,
        eps=1e-6),
    head=dict(loss=dict(_delete_=True, type='CrossEntropyLoss'),
              init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))

train_pipeline = {{_base_.test_pipeline}}
train_dataloader = dict(
    batch_size=128, dataset=dict(ann_file='meta/train.txt', pipeline=train_pipeline))

max_epochs = 10
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1,
         end=max_epochs, eta_min=0., convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
