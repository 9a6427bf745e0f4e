# ADDP ViT-L/16 pretraining on ImageNet-1k, 800 epochs, as released
# (configs/release/large/pretrain_addp_large_800ep.sh of the official code).
_base_ = [
    '../_base_/models/addp_vit_large.py',
    '../_base_/datasets/imagenet_bs64_addp_pretrain.py',
    '../_base_/schedules/addp_pretrain_800e.py',
    '../_base_/default_runtime.py',
]

# The frozen tokenizer and token predictor come from their own files (see the model base):
#   data/pretrained/vqgan_jax_strongaug.ckpt and data/pretrained/mage-vitl-1600.pth.
# Checkpoints hold only what training changes; resuming rebuilds the frozen parts from these.

# A checkpoint per epoch; the three latest are kept.
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))

# Pick up the latest checkpoint in work_dir, as the official scripts re-run until done.
resume = True
