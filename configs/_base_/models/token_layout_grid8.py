# The fine token layout for 32 px images: an 8 x 8 grid of 256 codes, 512 bits an image (the
# quick demo's 4 x 4 grid of 32 codes carries 80). The tokenizer downsamples twice (stride 4)
# and the encoders read 4 px patches, one per token. The digits recipes at this layout are
# configs/digits/*_grid8.py; which layout suits a folder: docs/own_data.md, from
# tools/tokenizer_rate_bound.py's numbers on it.
grid8_patch_size = 4
grid8_num_tokens = (32 // grid8_patch_size)**2
grid8_codebook_size = 256
grid8_tokenizer_shape = dict(ch_mult=[1, 2, 2], codebook_size=grid8_codebook_size)
grid8_token_predictor_shape = dict(num_patches=grid8_num_tokens,
                                   codebook_size=grid8_codebook_size)
# Where the grid8 recipes' trained parts live, beside the quick demo's work_dirs/digits_demo/.
grid8_dir = 'work_dirs/digits_grid8'
grid8_tokenizer = dict(grid8_tokenizer_shape, checkpoint=f'{grid8_dir}/tokenizer.ckpt')
grid8_token_predictor = dict(grid8_token_predictor_shape,
                             checkpoint=f'{grid8_dir}/token_predictor.pth')
grid8_pretrained = f'{grid8_dir}/addp.pth'
