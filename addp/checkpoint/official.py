"""Key mapping between the official ADDP checkpoints and ADDP modules here.

Official pretraining checkpoints (``addp-vit-{base,large}-16.pth``) keep encoder, decoder,
tokenizer (``vqgan.``) and token predictor (``token_predictor.``) in one flat namespace. Here
the algorithm holds them as ``backbone``, ``neck``, ``tokenizer`` and ``token_predictor``.
"""
import re
from typing import Dict, Mapping, Optional

import torch

from addp.errors import CheckpointKeyError

# (official, ours) for the decoder: a name ending in "." renames a prefix, others one key.
_DECODER_NAMES = (
    ('decoder_embed.', 'neck.embed.'),
    ('mask_token', 'neck.mask_token'),
    ('token_emb.weight', 'neck.token_embed.weight'),
    ('decoder_pos_embed_learned', 'neck.pos_embed_visible'),
    ('decoder_pos_mask_embed', 'neck.pos_embed_masked'),
    ('decoder_pos_token_embed', 'neck.pos_embed_appended'),
    ('decoder_blocks.', 'neck.blocks.'),
    ('decoder_norm.', 'neck.norm.'),
    ('mlm_layer.', 'neck.mlm.'),
)
_ENCODER_KEYS = r'(cls_token|pos_embed|patch_embed\..*|blocks\..*|norm\..*|tokenizer_norm\..*)'
# Parameters the official model defines but never uses in its forward pass.
OFFICIAL_UNUSED_KEYS = ('decoder_pos_embed', 'pos_token_embed', 'pos_mask_embed',
                        'decoder_pred.weight', 'decoder_pred.bias')
# What the official token predictor stores beyond the parts it runs.
MAGE_UNUSED_KEYS = ('cls_token', 'pos_embed', 'mask_token', 'decoder_pos_embed',
                    'patch_embed.proj.weight', 'patch_embed.proj.bias', 'decoder_pred.weight',
                    'decoder_pred.bias')


def _rename(key: str, names) -> Optional[str]:
    for src, dst in names:
        if src.endswith('.') and key.startswith(src):
            return dst + key[len(src):]
        if key == src:
            return dst
    return None


def is_official_pretrain(state_dict: Mapping) -> bool:
    """Whether a state dict uses the official pretraining names."""
    return 'blocks.0.attn.qkv.weight' in state_dict and 'decoder_embed.weight' in state_dict


def convert_official_pretrain(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Official pretraining keys to the keys of :class:`addp.models.ADDP`.

    Unused official parameters (:data:`OFFICIAL_UNUSED_KEYS`, the token predictor's pixel
    side and its VQGAN copy) are dropped. An unknown key raises ``KeyError``.
    """
    converted = {}
    for key, value in state_dict.items():
        if key in OFFICIAL_UNUSED_KEYS:
            continue
        if key.startswith('vqgan.'):
            converted['tokenizer.' + key[len('vqgan.'):]] = value
        elif key.startswith('token_predictor.'):
            inner = key[len('token_predictor.'):]
            if not inner.startswith('vqgan.') and inner not in MAGE_UNUSED_KEYS:
                converted[key] = value
        elif re.fullmatch(_ENCODER_KEYS, key):
            converted['backbone.' + key] = value
        else:
            renamed = _rename(key, _DECODER_NAMES)
            if renamed is None:
                raise CheckpointKeyError(f'unknown key in official ADDP checkpoint: {key!r}')
            converted[renamed] = value
    return converted


def convert_to_official_pretrain(state_dict: Mapping[str, torch.Tensor],
                                 frozen: Optional[Mapping[str, torch.Tensor]] = None
                                 ) -> Dict[str, torch.Tensor]:
    """Keys of :class:`addp.models.ADDP` back to the official names.

    Args:
        state_dict (Mapping): An ADDP state dict (``backbone.``, ``neck.``, and possibly the
            frozen ``tokenizer.`` and ``token_predictor.``).
        frozen (Mapping, optional): ``tokenizer.`` and ``token_predictor.`` weights to add
            when ``state_dict`` was saved without them.

    Returns:
        dict: A state dict that the official model loads strictly; parameters it defines but
        never uses are zero.
    """
    state_dict = dict(state_dict, **(frozen or {}))
    official = {}
    for key, value in state_dict.items():
        if key.startswith('backbone.'):
            official[key[len('backbone.'):]] = value
        elif key.startswith('tokenizer.'):
            official['vqgan.' + key[len('tokenizer.'):]] = value
            official['token_predictor.vqgan.' + key[len('tokenizer.'):]] = value
        elif key.startswith('token_predictor.'):
            official[key] = value
        elif key.startswith('neck.'):
            renamed = _rename(key, [(ours, theirs) for theirs, ours in _DECODER_NAMES])
            if renamed is None:
                raise CheckpointKeyError(f'unknown decoder key {key!r}')
            official[renamed] = value
    _fill_unused(official)
    return official


def _fill_unused(official: Dict[str, torch.Tensor]) -> None:
    pos = official['pos_embed']
    dec_dim = official['decoder_embed.weight'].shape[0]
    patch_dim = official['patch_embed.proj.weight'][0].numel()
    zeros = torch.zeros
    official.setdefault('decoder_pos_embed', zeros(1, pos.shape[1], dec_dim))
    official.setdefault('pos_token_embed', zeros(pos.shape))
    official.setdefault('pos_mask_embed', zeros(pos.shape))
    official.setdefault('decoder_pred.weight', zeros(patch_dim, dec_dim))
    official.setdefault('decoder_pred.bias', zeros(patch_dim))
    if 'token_predictor.token_emb.word_embeddings.weight' in official:
        tp_dim = official['token_predictor.token_emb.word_embeddings.weight'].shape[1]
        tp_dec = official['token_predictor.decoder_embed.weight'].shape[0]
        tp_pos = official['token_predictor.decoder_pos_embed_learned'].shape[1]
        for key, shape in (('cls_token', (1, 1, tp_dim)), ('pos_embed', (1, tp_pos, tp_dim)),
                           ('mask_token', (1, 1, tp_dec)),
                           ('decoder_pos_embed', (1, tp_pos, tp_dec)),
                           ('patch_embed.proj.weight', (tp_dim, ) + tuple(
                               official['patch_embed.proj.weight'].shape[1:])),
                           ('patch_embed.proj.bias', (tp_dim, )),
                           ('decoder_pred.weight', (patch_dim, tp_dec)),
                           ('decoder_pred.bias', (patch_dim, ))):
            official.setdefault('token_predictor.' + key, zeros(shape))


def convert_official_classifier(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Official fine-tuned ViT keys to an mmpretrain ``ImageClassifier`` with an ``ADDPViT``
    backbone and a ``LinearClsHead``."""
    converted = {}
    for key, value in state_dict.items():
        if key.startswith('head.'):
            converted['head.fc.' + key[len('head.'):]] = value
        else:
            converted['backbone.' + key] = value
    return converted


def addp_config_from_official(config: Mapping, vqgan_checkpoint: Optional[str] = None,
                              mage_checkpoint: Optional[str] = None) -> dict:
    """An ``ADDP`` model config from an official architecture description.

    Args:
        config (Mapping): In the official names: ``img_size``, ``patch_size``, ``embed_dim``,
            ``depth``, ``num_heads``, ``decoder_embed_dim``, ``decoder_depth``,
            ``decoder_num_heads``, ``mlp_ratio``, ``codebook_size``, ``codebook_dim``,
            ``label_smoothing``, ``vqgan`` (the tokenizer's ddconfig) and ``token_predictor``
            (its ViT dims), as the official code and the parity files describe a model.
        vqgan_checkpoint (str, optional): The tokenizer's file.
        mage_checkpoint (str, optional): The token predictor's file.
    """
    patch = config['patch_size']
    num_patches = (config['img_size'] // patch)**2
    vq = config['vqgan']
    tp = config['token_predictor']
    return dict(
        type='ADDP',
        backbone=dict(
            type='ADDPViT',
            arch=dict(embed_dims=config['embed_dim'], num_layers=config['depth'],
                      num_heads=config['num_heads']),
            img_size=config['img_size'], patch_size=patch, mlp_ratio=config['mlp_ratio'],
            norm_eps=config.get('norm_eps', 1e-6)),
        neck=dict(
            type='ADDPDecoder', num_patches=num_patches, in_channels=config['embed_dim'],
            embed_dims=config['decoder_embed_dim'], num_layers=config['decoder_depth'],
            num_heads=config['decoder_num_heads'], codebook_size=config['codebook_size'],
            mlp_ratio=config['mlp_ratio'], norm_eps=config.get('norm_eps', 1e-6)),
        head=dict(type='ADDPPretrainHead',
                  loss=dict(type='MaskedSoftCrossEntropyLoss',
                            label_smoothing=config.get('label_smoothing', 0.1))),
        tokenizer=dict(
            type='VQGANTokenizer', ch=vq['ch'], ch_mult=list(vq['ch_mult']),
            num_res_blocks=vq['num_res_blocks'], z_channels=vq['z_channels'],
            codebook_size=config['codebook_size'], codebook_dim=config['codebook_dim'],
            checkpoint=vqgan_checkpoint),
        token_predictor=dict(
            type='MAGETokenPredictor',
            arch=dict(embed_dims=tp['embed_dim'], num_layers=tp['depth'],
                      num_heads=tp['num_heads'], decoder_embed_dims=tp['decoder_embed_dim'],
                      decoder_num_layers=tp['decoder_depth'],
                      decoder_num_heads=tp['decoder_num_heads']),
            num_patches=num_patches, codebook_size=config['codebook_size'],
            mlp_ratio=tp.get('mlp_ratio', 4), checkpoint=mage_checkpoint))


def convert_classifier_to_official(
        state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The inverse of :func:`convert_official_classifier`."""
    official = {}
    for key, value in state_dict.items():
        if key.startswith('head.fc.'):
            official['head.' + key[len('head.fc.'):]] = value
        elif key.startswith('backbone.'):
            official[key[len('backbone.'):]] = value
        else:
            raise CheckpointKeyError(f'unexpected classifier key {key!r}')
    return official
