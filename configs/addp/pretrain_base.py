# ADDP ViT-B/16 pretraining on ImageNet-1k, 1600 epochs, as released
# (configs/release/base/pretrain_addp_base_1600ep.sh of the official code).
_base_ = [
    '../_base_/models/addp_vit_base.py',
    '../_base_/datasets/imagenet_bs64_addp_pretrain.py',
    '../_base_/schedules/addp_pretrain_1600e.py',
    '../_base_/default_runtime.py',
]

# The frozen tokenizer and token predictor come from their own files (see the model base):
#   data/pretrained/vqgan_jax_strongaug.ckpt and data/pretrained/mage-vitb-1600.pth.
# Checkpoints hold only what training changes; resuming rebuilds the frozen parts from these.

# A checkpoint per epoch; the three latest are kept.
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))

# Pick up the latest checkpoint in work_dir, as the official scripts re-run until done.
resume = True
