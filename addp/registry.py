"""Registries that ADDP modules join.

ADDP registers into MMEngine's root registries rather than a scoped child. A plain type name
such as ``type='ADDPViT'`` is then found from every OpenMMLab library's scope: mmpretrain,
mmdet and mmseg look up a name in their own registry first and then in the root, so their
configs build ADDP modules after ``custom_imports=dict(imports=['addp.models'])``.
"""
from mmengine.registry import (DATASETS, HOOKS, METRICS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS,
                               RUNNERS, TRANSFORMS)

__all__ = [
    'MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'METRICS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'RUNNERS'
]
