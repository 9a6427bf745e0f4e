# Evaluates the released ADDP ViT-B/16 ImageNet-1k classifier (target: 83.9 top-1) at 256 px.
# Convert the official fine-tuned file first:
#   python tools/convert_official_checkpoint.py OFFICIAL.pth \
#       data/pretrained/addp-vit-base-16-in1k.pth --kind classifier
_base_ = './finetune_base_100e_in1k.py'

# all weights come from load_from; no pretraining file is read
model = dict(backbone=dict(init_cfg=None))
load_from = 'data/pretrained/addp-vit-base-16-in1k.pth'
