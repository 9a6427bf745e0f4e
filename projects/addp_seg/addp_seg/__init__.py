"""ADDP encoder in UperNet for mmseg; importing registers what the configs use.

The backbone is :class:`addp.models.ADDPViT` returning four depths as maps, mmseg's
``Feature2Pyramid`` turns them into strides 4 to 32, and
:class:`addp.engine.BackboneLayerDecayOptimWrapperConstructor` gives the layer-wise decay.
These ADDP classes join mmseg's registries here, so a config needs only
``custom_imports = dict(imports=['projects.addp_seg.addp_seg'])`` and plain type names.
"""
from addp.ops_stage import require_ops_stage

require_ops_stage('projects/addp_seg', 'mmseg')

from mmseg.registry import HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS

from addp.engine import BackboneLayerDecayOptimWrapperConstructor, RandomStateHook
from addp.models import ADDPViT

MODELS.register_module(module=ADDPViT)
OPTIM_WRAPPER_CONSTRUCTORS.register_module(module=BackboneLayerDecayOptimWrapperConstructor)
HOOKS.register_module(module=RandomStateHook)

__all__ = ['ADDPViT', 'BackboneLayerDecayOptimWrapperConstructor', 'RandomStateHook']
