"""mmpretrain, mmdet and mmseg configs build ADDP modules by plain type name."""
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

TINY_VIT = dict(type='ADDPViT', arch=dict(embed_dims=32, num_layers=2, num_heads=2),
                img_size=32, patch_size=4, normalize_input=False, tokenizer_norm=False)


def _config(model: dict) -> Config:
    cfg = Config(dict(custom_imports=dict(imports=['addp.models'], allow_failed_imports=False),
                      model=model))
    import_modules_from_strings(**cfg.custom_imports)
    return cfg


def test_mmpretrain_image_classifier():
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    cfg = _config(dict(type='ImageClassifier',
                       backbone=dict(TINY_VIT, out_type='avg_featmap', final_norm=False),
                       head=dict(type='LinearClsHead', num_classes=5, in_channels=32)))
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'ADDPViT'
    assert model(torch.rand(2, 3, 32, 32), mode='tensor').shape == (2, 5)


def test_mmdet_backbone():
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = _config(dict(TINY_VIT, out_type='featmap', out_indices=(0, 1)))
    feats = MODELS.build(cfg.model)(torch.rand(1, 3, 64, 32))
    assert [f.shape for f in feats] == [(1, 32, 16, 8)] * 2


def test_mmseg_encoder_decoder():
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = _config(dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', size=(32, 32)),
        backbone=dict(TINY_VIT, out_type='featmap', out_indices=(1, )),
        decode_head=dict(type='FCNHead', in_channels=32, channels=8, num_convs=1, num_classes=3,
                         norm_cfg=dict(type='BN'))))
    model = MODELS.build(cfg.model).eval()
    assert model(torch.rand(1, 3, 32, 32), mode='tensor').shape == (1, 3, 8, 8)
