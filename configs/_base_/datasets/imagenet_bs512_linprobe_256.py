# ImageNet-1k at 256 px for linear probing, as MAGE's main_linprobe.py prepares it: a bicubic
# random resized crop of scale (0.2, 1) and a horizontal flip for training, and a bicubic resize
# of the short edge to 292 followed by a 256 centre crop for evaluation.
dataset_type = 'ImageNet'
data_root = 'data/imagenet'

data_preprocessor = dict(
    num_classes=1000,
    # ImageNet statistics on the 0-255 scale, in RGB: the ADDP encoder's input normalisation
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadAnyImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=256,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadAnyImageFromFile'),
    dict(type='ResizeEdge', scale=292, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=256),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=512,
    num_workers=8,
    # Not persistent, as the official loader: each epoch's workers start from MMEngine's seeds,
    # so a resumed run draws the augmentations an uninterrupted one draws.
    persistent_workers=False,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
