# Fine-tuning the MNIST study's MAE baseline (mae_tiny_mnist_grid8.py beside this file) with
# 10 labels per class: ../finetune_tiny_digits_mae.py at 4 px patches.
#   python tools/train.py projects/digits_study/configs/mnist/finetune_tiny_mnist_grid8_mae.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/mnist_study/mae/iter_1800.pth
_base_ = ['../finetune_tiny_digits_mae.py',
          '../../../../configs/_base_/models/token_layout_grid8.py', './mnist_study.py']

model = dict(backbone=dict(
    patch_size={{_base_.grid8_patch_size}},
    init_cfg=dict(checkpoint='work_dirs/mnist_study/mae/iter_1800.pth')))
data_root = {{_base_.mnist_data_root}}
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
