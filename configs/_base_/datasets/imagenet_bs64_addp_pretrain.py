# ImageNet-1k train split for ADDP pretraining, 64 images per GPU.
# mmpretrain's ImageNet reads either layout under data_root:
#   folders: train/<class>/<image>.JPEG
#   annotation file: meta/train.txt ("<relative path> <label>" per line) next to train/
dataset_type = 'ImageNet'
data_root = 'data/imagenet/'

# The pipeline keeps uint8 pixels; the model's SelfSupDataPreprocessor maps them to [0, 1]
# RGB, because the tokenizer reads raw pixels.
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

train_dataloader = dict(
    batch_size=64,
    num_workers=10,
    # Not persistent, as the official loader: each epoch's workers start from MMEngine's seeds,
    # so a resumed run draws the augmentations an uninterrupted one draws.
    persistent_workers=False,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    # Every step sees a full batch, as the official loader (drop_last=True).
    drop_last=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
