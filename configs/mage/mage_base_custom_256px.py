# Stage 2 of "Train on your own images": a MAGE ViT-B token predictor on the codes of your
# tokenizer (stage 1), from scratch, with MAGE's recipe (truncated-normal mask ratios, half the
# tokens dropped from the encoder, label smoothing 0.1; AdamW, base lr 1.5e-4 per 256 images,
# 40 warm-up epochs, cosine).
#   bash tools/dist_train.sh configs/mage/mage_base_custom_256px.py 8
# then export it in the released layout for stage 3:
#   python tools/convert_official_checkpoint.py work_dirs/mage_base_custom_256px/epoch_800.pth \
#       data/custom_pretrained/mage_custom.pth --kind token_predictor --to-official
_base_ = [
    '../_base_/models/mage_vit_base.py',
    '../_base_/datasets/custom_folder_pretrain_256.py',
    '../_base_/schedules/addp_pretrain_800e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    tokenizer=dict(checkpoint='data/custom_pretrained/vqgan_custom.ckpt'),
    token_predictor=dict(checkpoint=None))

optim_wrapper = dict(optimizer=dict(lr=1.5e-4))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
