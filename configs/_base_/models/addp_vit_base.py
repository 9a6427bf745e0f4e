# ADDP ViT-B/16 at 256 px: encoder 768/12/12, decoder 768/8/16, MAGE-B token predictor and the
# MAGE VQGAN (ch 128, ch_mult 1-1-2-2-4, 2 residual blocks, 1024 x 256 codebook).
img_size = 256
patch_size = 16
num_patches = (img_size // patch_size)**2
pretrained_dir = 'data/pretrained'

model = dict(
    type='ADDP',
    # Pixels stay in [0, 1]: the tokenizer reads raw pixels, the encoder normalises itself.
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.], to_rgb=True),
    backbone=dict(
        type='ADDPViT', arch='b', img_size=img_size, patch_size=patch_size, drop_rate=0.1,
        tokenizer_drop_rate=0.1),
    neck=dict(
        type='ADDPDecoder', num_patches=num_patches, in_channels=768, embed_dims=768, num_layers=8,
        num_heads=16, codebook_size=1024, drop_rate=0.1),
    head=dict(
        type='ADDPPretrainHead',
        loss=dict(type='MaskedSoftCrossEntropyLoss', label_smoothing=0.1)),
    tokenizer=dict(
        type='VQGANTokenizer', ch=128, ch_mult=[1, 1, 2, 2, 4], num_res_blocks=2, z_channels=256,
        codebook_size=1024, codebook_dim=256,
        checkpoint=f'{pretrained_dir}/vqgan_jax_strongaug.ckpt'),
    token_predictor=dict(
        type='MAGETokenPredictor', arch='b', num_patches=num_patches, codebook_size=1024,
        checkpoint=f'{pretrained_dir}/mage-vitb-1600.pth'),
    mask_generator=dict(
        type='NestedMaskGenerator', num_steps=100, ratio_min=0.5, ratio_max=1.0, mu=0.55,
        std=0.25, max_offset=5))
