# Fine-tuning the digits encoder with all 1,437 labels (the study's full-label setting),
# evaluated on the 360 test digits. Same recipe as the 10-label one, at batch 64 for 10 epochs.
#   python tools/train.py projects/digits_study/configs/finetune_tiny_digits_all_labels.py
_base_ = ['../../../configs/digits/finetune_tiny_digits.py']

train_dataloader = dict(batch_size=64, dataset=dict(ann_file='meta/train.txt'))

max_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1,
         end=max_epochs, eta_min=1e-6, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
