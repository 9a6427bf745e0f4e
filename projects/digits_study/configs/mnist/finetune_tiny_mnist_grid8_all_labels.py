# Fine-tuning the MNIST study's ADDP encoder (4 px patches) with all 4,000 labels: the
# all-label recipe of ../finetune_tiny_digits_all_labels.py at the fine layout's patch size.
#   python tools/train.py \
#       projects/digits_study/configs/mnist/finetune_tiny_mnist_grid8_all_labels.py
_base_ = ['../finetune_tiny_digits_all_labels.py',
          '../../../../configs/_base_/models/token_layout_grid8.py', './mnist_study.py']

model = dict(backbone=dict(patch_size={{_base_.grid8_patch_size}},
                           init_cfg=dict(checkpoint={{_base_.grid8_pretrained}})))
data_root = {{_base_.mnist_data_root}}
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
