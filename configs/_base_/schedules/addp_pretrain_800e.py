# The released ADDP pretraining optimisation, 800 epochs (ViT-L).
_base_ = './addp_pretrain_1600e.py'

max_epochs = 800
warmup_epochs = 40

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

train_cfg = dict(max_epochs=max_epochs)
