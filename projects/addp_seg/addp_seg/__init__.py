"""ADDP encoder in UperNet for mmseg; importing registers what the configs use.

The backbone is :class:`addp.models.ADDPViT` returning four depths as maps, mmseg's
``Feature2Pyramid`` turns them into strides 4 to 32, and
:class:`addp.engine.BackboneLayerDecayOptimWrapperConstructor` gives the layer-wise decay.
A config needs only ``custom_imports = dict(imports=['projects.addp_seg.addp_seg'])``.
"""
from addp.engine import BackboneLayerDecayOptimWrapperConstructor
from addp.models import ADDPViT

__all__ = ['ADDPViT', 'BackboneLayerDecayOptimWrapperConstructor']
