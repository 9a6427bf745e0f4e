# Fine-tuning the study's MAE baseline (mae_tiny_digits_long.py beside this file) with 10
# labels per class: the ADDP recipe of finetune_tiny_digits.py with mmpretrain's ViT as the
# backbone, built as mmpretrain's MAE fine-tuning configs build it (average pooling through
# fc_norm).
#   python tools/train.py projects/digits_study/configs/finetune_tiny_digits_mae.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/digits_study/mae/iter_9000.pth
_base_ = ['../../../configs/digits/finetune_tiny_digits.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.VisionTransformer',
        arch=dict(embed_dims=128, num_layers=4, num_heads=4, feedforward_channels=512),
        img_size=32,
        patch_size=8,
        out_type='avg_featmap',
        final_norm=False,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/digits_study/mae/iter_9000.pth',
                      prefix='backbone.')))
