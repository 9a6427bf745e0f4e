"""The pretraining optimizer groups parameters as the official code does."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from pretrain_probes import REPO
from timm.optim import param_groups_weight_decay


def _pretrain_optim_cfg():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'addp', 'pretrain_base.py')).optim_wrapper
    cfg = cfg.to_dict()
    # Same optimizer and groups; AmpOptimWrapper itself needs a GPU.
    cfg.update(type='OptimWrapper')
    cfg.pop('dtype'), cfg.pop('loss_scale')
    return cfg


def _decay_by_param(optimizer):
    return {id(p): group['weight_decay'] for group in optimizer.param_groups
            for p in group['params']}


def test_weight_decay_groups_equal_official_param_groups(tiny_model):
    optimizer = build_optim_wrapper(tiny_model, _pretrain_optim_cfg()).optimizer
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults['betas'] == (0.9, 0.95)

    # main_pretrain.py: param_groups_weight_decay(model, 0.05) from timm.
    official = {id(p): group['weight_decay'] for group in
                param_groups_weight_decay(tiny_model, 0.05) for p in group['params']}
    ours = _decay_by_param(optimizer)
    names = {id(p): n for n, p in tiny_model.named_parameters()}
    assert {names[i]: d for i, d in ours.items()} == {names[i]: d for i, d in official.items()}

    no_decay = {names[i] for i, d in ours.items() if d == 0}
    assert {'backbone.norm.weight', 'backbone.blocks.0.attn.qkv.bias',
            'neck.mlm.bias'} <= no_decay  # neck.mlm.bias is (1, 1, V): excluded by its name
    # The official groups decay tokens and embeddings (unlike mmpretrain's MAE recipe).
    for name in ('backbone.cls_token', 'backbone.pos_embed', 'neck.mask_token',
                 'neck.token_embed.weight', 'neck.pos_embed_masked'):
        assert ours[id(dict(tiny_model.named_parameters())[name])] == 0.05, name


def test_frozen_parts_stay_out_of_the_optimizer(tiny_model):
    optimizer = build_optim_wrapper(tiny_model, _pretrain_optim_cfg()).optimizer
    in_optimizer = set(_decay_by_param(optimizer))
    trainable = {id(p) for p in tiny_model.parameters() if p.requires_grad}
    frozen = {id(p) for m in (tiny_model.tokenizer, tiny_model.token_predictor)
              for p in m.parameters()}
    assert frozen and in_optimizer == trainable and not in_optimizer & frozen
    assert sum(len(g['params']) for g in optimizer.param_groups) == len(trainable)
