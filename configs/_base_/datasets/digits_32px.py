# scikit-learn's handwritten digits at 32 px, unlabelled, for the three pretraining stages.
# python tools/prepare_bundled_data.py data/digits writes them (seeded 1,437 / 360 split):
#   data/digits/train/<digit>/*.png, data/digits/test/<digit>/*.png
data_root = 'data/digits'

# The model's SelfSupDataPreprocessor maps the uint8 pixels to [0, 1] RGB. Transparent pixels
# of a user's own digits become the digits' black background.
pretrain_pipeline = [
    dict(type='LoadAnyImageFromFile', background=(0, 0, 0)),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    # Iteration-based: an endless seeded shuffle, resumable mid-epoch.
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CheckedCustomDataset',
        data_root=data_root,
        data_prefix='train',
        with_label=False,
        pipeline=pretrain_pipeline))
