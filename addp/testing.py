"""Tiny ADDP models for tests, the demo and examples: real modules, small sizes."""
import copy
import os
import os.path as osp
from typing import Dict, Optional

import torch

TINY_VQGAN = dict(type='VQGANTokenizer', ch=32, ch_mult=[1, 1, 1], num_res_blocks=1,
                  z_channels=16, codebook_size=64, codebook_dim=16)
TINY_MAGE = dict(type='MAGETokenPredictor', num_classes=100,
                 arch=dict(embed_dim=32, depth=1, num_heads=2, decoder_embed_dim=32,
                           decoder_depth=1, decoder_num_heads=2))


def make_tiny_frozen_checkpoints(out_dir: str, img_size: int = 32, seed: int = 0,
                                 overwrite: bool = False) -> Dict[str, str]:
    """Writes randomly initialised tiny tokenizer and token-predictor files, laid out like the
    released ``vqgan_jax_strongaug.ckpt`` (bare) and ``mage-vit*-1600.pth`` (``{'model'}``).

    Returns:
        dict: ``vqgan`` and ``mage`` file paths.
    """
    from addp.registry import MODELS
    import addp.models  # noqa: F401

    paths = dict(vqgan=osp.join(out_dir, 'tiny_vqgan.ckpt'),
                 mage=osp.join(out_dir, 'tiny_mage.pth'))
    if not overwrite and all(osp.isfile(p) for p in paths.values()):
        return paths
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(seed)
    vqgan = MODELS.build(TINY_VQGAN)
    # Spread the codebook like trained codes so that tokens vary with the image.
    torch.nn.init.normal_(vqgan.quantize.embedding.weight, std=0.5)
    num_patches = (img_size // vqgan.downsample_factor)**2
    mage = MODELS.build(dict(TINY_MAGE, num_patches=num_patches,
                             codebook_size=TINY_VQGAN['codebook_size']))
    for module in mage.modules():
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, std=0.02)
    torch.save(vqgan.state_dict(), paths['vqgan'])
    torch.save({'model': mage.state_dict()}, paths['mage'])
    return paths


def tiny_addp_cfg(vqgan_checkpoint: Optional[str], mage_checkpoint: Optional[str],
                  img_size: int = 32) -> dict:
    """An ``ADDP`` config at test size: 32 px images, an 8 x 8 token grid, 64 codes."""
    patch_size = 4
    num_patches = (img_size // patch_size)**2
    return dict(
        type='ADDP',
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[0., 0., 0.],
                               std=[255., 255., 255.], to_rgb=True),
        backbone=dict(type='ADDPViT', arch=dict(embed_dims=32, num_layers=2, num_heads=2),
                      img_size=img_size, patch_size=patch_size),
        neck=dict(type='ADDPDecoder', num_patches=num_patches, in_channels=32, embed_dim=32,
                  depth=1, num_heads=2, codebook_size=TINY_VQGAN['codebook_size'],
                  num_classes=100),
        head=dict(type='ADDPPretrainHead'),
        tokenizer=dict(copy.deepcopy(TINY_VQGAN), checkpoint=vqgan_checkpoint),
        token_predictor=dict(copy.deepcopy(TINY_MAGE), num_patches=num_patches,
                             codebook_size=TINY_VQGAN['codebook_size'],
                             checkpoint=mage_checkpoint),
        mask_generator=dict(type='NestedMaskGenerator'))


def write_released_files(golden: dict, out_dir: str) -> Dict[str, str]:
    """Lays the checkpoints of a parity file (``addp-official-golden/1``) out as the released
    files are: the VQGAN bare, MAGE and ADDP under ``model``, the fine-tuned classifier too.

    Returns:
        dict: ``vqgan``, ``mage``, ``addp`` and ``classifier`` file paths.
    """
    official = golden['checkpoints']['addp_pretrain']['model']
    paths = dict(vqgan=osp.join(out_dir, 'vqgan_jax_strongaug.ckpt'),
                 mage=osp.join(out_dir, 'mage.pth'), addp=osp.join(out_dir, 'addp.pth'),
                 classifier=osp.join(out_dir, 'classifier.pth'))

    def part(prefix: str) -> dict:
        return {k[len(prefix):]: v for k, v in official.items() if k.startswith(prefix)}

    torch.save(part('vqgan.'), paths['vqgan'])
    torch.save({'model': part('token_predictor.')}, paths['mage'])
    torch.save(golden['checkpoints']['addp_pretrain'], paths['addp'])
    torch.save(golden['checkpoints']['classifier'], paths['classifier'])
    return paths
