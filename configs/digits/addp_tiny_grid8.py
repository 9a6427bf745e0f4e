# Stage 3 of 3 at the fine token layout: ADDP of addp_tiny_digits.py reading 4 px patches, one
# per token of the 8 x 8 grid, with the frozen parts of vqgan_tiny_grid8.py and
# mage_tiny_grid8.py from work_dirs/digits_grid8/.
#   python tools/train.py configs/digits/addp_tiny_grid8.py
_base_ = ['./addp_tiny_digits.py', '../_base_/models/token_layout_grid8.py']

patch_size = {{_base_.grid8_patch_size}}
num_tokens = {{_base_.grid8_num_tokens}}
codebook_size = {{_base_.grid8_codebook_size}}
model = dict(
    backbone=dict(patch_size=patch_size),
    neck=dict(num_patches=num_tokens, codebook_size=codebook_size),
    tokenizer={{_base_.grid8_tokenizer}},
    token_predictor={{_base_.grid8_token_predictor}})
