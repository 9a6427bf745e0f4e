# Fine-tuning the MNIST study's ADDP encoder (4 px patches) with 10 labels per class:
# configs/digits/finetune_tiny_grid8.py on MNIST-5k (meta/train_10shot_seed{0,1,2}.txt, written
# by tools/prepare_bundled_data.py data/mnist --dataset mnist).
#   python tools/train.py projects/digits_study/configs/mnist/finetune_tiny_mnist_grid8.py
_base_ = ['../../../../configs/digits/finetune_tiny_grid8.py', './mnist_study.py']

data_root = {{_base_.mnist_data_root}}
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
