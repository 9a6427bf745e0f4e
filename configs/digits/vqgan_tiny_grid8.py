# Stage 1 of 3 at the fine token layout (an 8 x 8 grid of 256 codes,
# configs/_base_/models/token_layout_grid8.py); otherwise the recipe of vqgan_tiny_digits.py.
#   python tools/train.py configs/digits/vqgan_tiny_grid8.py
# On another folder (tools/prepare_bundled_data.py writes MNIST and the photos):
#   --cfg-options train_dataloader.dataset.data_root=data/mnist \
#                 val_dataloader.dataset.data_root=data/mnist
_base_ = ['./vqgan_tiny_digits.py', '../_base_/models/token_layout_grid8.py']

model = dict(tokenizer={{_base_.grid8_tokenizer_shape}})
