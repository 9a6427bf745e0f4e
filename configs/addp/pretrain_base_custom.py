# Stage 3 of "Train on your own images": ADDP ViT-B/16 pretraining with your own frozen
# tokenizer (stage 1) and token predictor (stage 2); the released recipe otherwise
# (configs/addp/pretrain_base.py, with your image folder in place of ImageNet).
#   bash tools/dist_train.sh configs/addp/pretrain_base_custom.py 8
# Fine-tune it with configs/addp/finetune_base_100e_custom.py
#   (--cfg-options model.backbone.init_cfg.checkpoint=work_dirs/pretrain_base_custom/epoch_N.pth)
_base_ = [
    '../_base_/models/addp_vit_base.py',
    '../_base_/datasets/custom_folder_pretrain_256.py',
    '../_base_/schedules/addp_pretrain_1600e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    tokenizer=dict(checkpoint='data/custom_pretrained/vqgan_custom.ckpt'),
    token_predictor=dict(checkpoint='data/custom_pretrained/mage_custom.pth'))

default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
