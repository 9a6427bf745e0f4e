# Evaluates the released ADDP ViT-L/16 ImageNet-1k classifier (target: 85.9 top-1) at 256 px.
# Convert the official fine-tuned file first:
#   python tools/convert_official_checkpoint.py OFFICIAL.pth \
#       data/pretrained/addp-vit-large-16-in1k.pth --kind classifier
_base_ = './finetune_large_50e_in1k.py'

# all weights come from load_from; no pretraining file is read
model = dict(backbone=dict(init_cfg=None))
load_from = 'data/pretrained/addp-vit-large-16-in1k.pth'
