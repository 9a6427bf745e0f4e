# Stage 1 of "Train on your own images": adapt the MAGE VQGAN tokenizer to your images.
# It starts from the released vqgan_jax_strongaug.ckpt (set model.tokenizer.checkpoint=None
# to train from scratch; the codes are then initialised by k-means on the first batch).
#   bash tools/dist_train.sh configs/tokenizer/vqgan_custom_256px.py 8
# then export it in the released layout for stages 2 and 3:
#   python tools/convert_official_checkpoint.py work_dirs/vqgan_custom_256px/epoch_100.pth \
#       data/custom_pretrained/vqgan_custom.ckpt --kind tokenizer --to-official
_base_ = [
    '../_base_/models/vqgan_mage.py',
    '../_base_/datasets/custom_folder_pretrain_256.py',
    '../_base_/tokenizer_runtime.py',
]

# Milder crops than the ADDP recipe: the tokenizer should reconstruct whole images.
train_pipeline = [
    dict(type='LoadAnyImageFromFile'),
    dict(type='RandomResizedCrop', scale=256, crop_ratio_range=(0.8, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
# Validation on a twentieth of the train folder, held out with a fixed seed: the choices (a
# checkpoint, a learning rate) are never made on the images that report.
val_holdout = dict(fraction=0.05, seed=0)
train_dataloader = dict(
    batch_size=16,
    dataset=dict(pipeline=train_pipeline, holdout=dict(val_holdout, part='train')))
val_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CheckedCustomDataset',
        data_root={{_base_.data_root}},
        data_prefix='train',
        holdout=dict(val_holdout, part='val'),
        with_label=False,
        pipeline=[
            dict(type='LoadAnyImageFromFile'),
            dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
                 interpolation='bicubic'),
            dict(type='CenterCrop', crop_size=256),
            dict(type='PackInputs'),
        ]))
val_cfg = dict(type='ValLoop')
val_evaluator = dict(type='ReconstructionMetric')

# taming's VQGAN recipe: Adam (0.5, 0.9) at 4.5e-6 per image of the total batch, constant.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4.5e-6, betas=(0.5, 0.9), weight_decay=0.0))
param_scheduler = []
auto_scale_lr = dict(base_batch_size=1, enable=True)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=5)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=3))
