"""ADDP encoder in ViTDet-style Mask R-CNN for mmdet; importing registers the modules.

The project's own modules join mmdet's registries, and so do the ADDP classes its configs use
(the layer-wise decay constructor and the random-state hook), so a config needs only
``custom_imports = dict(imports=['projects.addp_det.addp_det'])`` and plain type names.
"""
from addp.ops_stage import require_ops_stage

require_ops_stage('projects/addp_det', 'mmdet')

from mmdet.registry import HOOKS, OPTIM_WRAPPER_CONSTRUCTORS

from addp.engine import BackboneLayerDecayOptimWrapperConstructor, RandomStateHook

from .addp_vitdet import ADDPViTDet, decomposed_rel_pos_bias, window_partition, window_unpartition
from .simple_fpn import SimpleFPN

OPTIM_WRAPPER_CONSTRUCTORS.register_module(module=BackboneLayerDecayOptimWrapperConstructor)
HOOKS.register_module(module=RandomStateHook)

__all__ = [
    'ADDPViTDet', 'SimpleFPN', 'decomposed_rel_pos_bias', 'window_partition',
    'window_unpartition'
]
