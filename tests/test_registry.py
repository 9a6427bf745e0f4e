"""ADDP's child registries: scope ``addp``, plain names in ADDP configs, ``addp.`` prefixes from
mmpretrain, and the det/seg projects' registrations in mmdet and mmseg."""
import subprocess
import sys

import pytest
import torch
from mmengine.registry import DefaultScope, init_default_scope

TINY_VIT = dict(arch=dict(embed_dims=32, num_layers=2, num_heads=2), img_size=32, patch_size=4,
                normalize_input=False, tokenizer_norm=False)


def test_registries_are_addp_children_of_mmpretrain():
    import mmpretrain.registry as mmpretrain_registry

    import addp.registry as addp_registry
    for name in ('MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'METRICS', 'RUNNERS',
                 'OPTIM_WRAPPER_CONSTRUCTORS', 'VISUALIZERS', 'LOG_PROCESSORS'):
        registry = getattr(addp_registry, name)
        assert registry.scope == 'addp'
        assert registry.parent is getattr(mmpretrain_registry, name)


def test_addp_scope_builds_without_custom_imports_or_warnings():
    # A fresh interpreter: the registry imports addp.models itself on the first lookup.
    code = ('from mmengine.registry import init_default_scope\n'
            'from mmengine.registry import MODELS, VISUALIZERS\n'
            'init_default_scope("addp")\n'
            f'vit = MODELS.build(dict(type="ADDPViT", **{TINY_VIT!r}))\n'
            'clf = MODELS.build(dict(type="ImageClassifier", backbone=dict(type="ADDPViT", '
            f'out_type="avg_featmap", **{TINY_VIT!r}), '
            'head=dict(type="LinearClsHead", num_classes=5, in_channels=32)))\n'
            'VISUALIZERS.build(dict(type="UniversalVisualizer", name="v"))\n'
            'print(type(vit).__name__, type(clf.head).__name__)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == 'ADDPViT LinearClsHead'
    assert 'WARNING' not in out.stdout + out.stderr


def test_mmpretrain_scope_reaches_addp_by_prefix():
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='addp.ADDPViT', out_type='avg_featmap', final_norm=False, **TINY_VIT),
        head=dict(type='LinearClsHead', num_classes=5, in_channels=32)))
    assert type(model.backbone).__name__ == 'ADDPViT'
    assert model(torch.rand(2, 3, 32, 32), mode='tensor').shape == (2, 5)


@pytest.mark.needs_ops
def test_mmdet_project_registers_its_backbone_and_the_addp_hooks():
    from mmdet.registry import HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS

    import projects.addp_det.addp_det  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmdet'):
        backbone = MODELS.build(dict(type='ADDPViTDet', arch=TINY_VIT['arch'], img_size=64,
                                     window_size=4))
        assert HOOKS.get('RandomStateHook').__module__.startswith('addp.engine')
        assert OPTIM_WRAPPER_CONSTRUCTORS.get('BackboneLayerDecayOptimWrapperConstructor')
    assert backbone(torch.rand(1, 3, 64, 64))[-1].shape == (1, 32, 4, 4)


@pytest.mark.needs_ops
def test_mmseg_project_registers_the_addp_backbone():
    from mmseg.registry import MODELS

    import projects.addp_seg.addp_seg  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor', size=(32, 32)),
            backbone=dict(type='ADDPViT', out_type='featmap', out_indices=(1, ), **TINY_VIT),
            decode_head=dict(type='FCNHead', in_channels=32, channels=8, num_convs=1,
                             num_classes=3, norm_cfg=dict(type='BN')))).eval()
    assert model(torch.rand(1, 3, 32, 32), mode='tensor').shape == (1, 3, 8, 8)
