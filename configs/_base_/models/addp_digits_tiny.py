# The tiny ADDP of the digits demo: 32 px images, a 4 x 4 grid of tokens from 32 codes.
#   tokenizer:       the MAGE VQGAN layout at width 32, three downsamplings, 16-dim codes,
#                    8 norm groups (4 channels each, as the released 128 wide with 32)
#   token predictor: MAGE with a 3-block encoder and a 2-block decoder, 128 wide
#   encoder:         ADDP ViT, 4 blocks, 128 wide, 8 px patches (one per token)
# The frozen parts are the demo's own, trained by configs/digits/{vqgan,mage}_tiny_digits.py.
# No dropout anywhere: at this size and schedule it only slows learning (with MAGE's 0.1 the
# token predictor's own samples scored a digit-IS of 3.1 instead of 4.5).
img_size = 32
patch_size = 8
num_tokens = (img_size // patch_size)**2
codebook_size = 32
demo_dir = 'work_dirs/digits_demo'

model = dict(
    type='ADDP',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.], to_rgb=True),
    backbone=dict(
        type='ADDPViT', arch=dict(embed_dims=128, num_layers=4, num_heads=4), img_size=img_size,
        patch_size=patch_size, tokenizer_drop_rate=0.),
    neck=dict(
        type='ADDPDecoder', num_patches=num_tokens, in_channels=128, embed_dims=128, num_layers=2,
        num_heads=4, codebook_size=codebook_size, num_classes=100),
    head=dict(
        type='ADDPPretrainHead',
        loss=dict(type='MaskedSoftCrossEntropyLoss', label_smoothing=0.1)),
    tokenizer=dict(
        type='VQGANTokenizer', ch=32, ch_mult=[1, 1, 2, 2], num_res_blocks=1, z_channels=16,
        codebook_size=codebook_size, codebook_dim=16, norm_groups=8,
        checkpoint=f'{demo_dir}/tokenizer.ckpt'),
    token_predictor=dict(
        type='MAGETokenPredictor', num_classes=100, num_patches=num_tokens,
        codebook_size=codebook_size,
        arch=dict(embed_dims=128, num_layers=3, num_heads=4, decoder_embed_dims=128,
                  decoder_num_layers=2, decoder_num_heads=4),
        drop_rate=0.,
        checkpoint=f'{demo_dir}/token_predictor.pth'),
    mask_generator=dict(type='NestedMaskGenerator'))
