# Stage 2 of 3 at the fine token layout: the token predictor of mage_tiny_digits.py on the
# codes of the tokenizer that vqgan_tiny_grid8.py trains (exported to
# work_dirs/digits_grid8/tokenizer.ckpt by tools/convert_official_checkpoint.py --kind tokenizer).
#   python tools/train.py configs/digits/mage_tiny_grid8.py
_base_ = ['./mage_tiny_digits.py', '../_base_/models/token_layout_grid8.py']

model = dict(tokenizer={{_base_.grid8_tokenizer}},
             token_predictor={{_base_.grid8_token_predictor_shape}})
