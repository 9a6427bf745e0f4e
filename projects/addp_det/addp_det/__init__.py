"""ADDP encoder in ViTDet-style Mask R-CNN for mmdet; importing registers the modules.

It also registers the ADDP models and the layer-wise decay constructor, so a config needs
only ``custom_imports = dict(imports=['projects.addp_det.addp_det'])``.
"""
import addp.engine  # noqa: F401
import addp.models  # noqa: F401
from .addp_vitdet import ADDPViTDet, decomposed_rel_pos_bias, window_partition, window_unpartition
from .simple_fpn import SimpleFPN

__all__ = [
    'ADDPViTDet', 'SimpleFPN', 'decomposed_rel_pos_bias', 'window_partition',
    'window_unpartition'
]
