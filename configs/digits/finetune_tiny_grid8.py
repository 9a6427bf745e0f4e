# Fine-tuning the encoder of addp_tiny_grid8.py (4 px patches) with 10 labels per class;
# otherwise finetune_tiny_digits.py.
#   python tools/train.py configs/digits/finetune_tiny_grid8.py
_base_ = ['./finetune_tiny_digits.py', '../_base_/models/token_layout_grid8.py']

pretrained = {{_base_.grid8_pretrained}}
model = dict(backbone=dict(patch_size={{_base_.grid8_patch_size}},
                           init_cfg=dict(checkpoint=pretrained)))
