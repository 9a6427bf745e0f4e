# A tiny ADDP for the demo and the tests (addp.testing reads it): 32 px images,
# patch 4, an 8 x 8 token grid, 64 codes, a 2-block 32-wide encoder and a 1-block decoder.
img_size = 32
patch_size = 4
num_patches = (img_size // patch_size)**2
frozen_dir = 'data/addp_smoke/frozen'

tiny_vqgan = dict(
    type='VQGANTokenizer', ch=32, ch_mult=[1, 1, 1], num_res_blocks=1, z_channels=16,
    codebook_size=64, codebook_dim=16)

model = dict(
    type='ADDP',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.], to_rgb=True),
    backbone=dict(
        type='ADDPViT', arch=dict(embed_dims=32, num_layers=2, num_heads=2), img_size=img_size,
        patch_size=patch_size),
    neck=dict(
        type='ADDPDecoder', num_patches=num_patches, in_channels=32, embed_dims=32, num_layers=1,
        num_heads=2, codebook_size=64, num_classes=100),
    head=dict(type='ADDPPretrainHead'),
    tokenizer=dict(tiny_vqgan, checkpoint=f'{frozen_dir}/tiny_vqgan.ckpt'),
    token_predictor=dict(
        type='MAGETokenPredictor', num_classes=100, num_patches=num_patches, codebook_size=64,
        arch=dict(embed_dims=32, num_layers=1, num_heads=2, decoder_embed_dims=32,
                  decoder_num_layers=1, decoder_num_heads=2),
        checkpoint=f'{frozen_dir}/tiny_mage.pth'),
    mask_generator=dict(type='NestedMaskGenerator'))
