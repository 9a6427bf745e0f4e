"""Layer-wise learning-rate decay for detectors and segmentors built on an ADDP encoder."""
from functools import partial
from typing import Callable, List, Optional

import torch.nn as nn
from mmpretrain.engine.optimizers import LearningRateDecayOptimWrapperConstructor

from addp.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BackboneLayerDecayOptimWrapperConstructor(LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's layer-wise decay for models whose ``backbone`` knows its layer depths.

    mmpretrain's constructor asks the whole model for ``get_layer_depth``, which its
    classifiers have and mmdet detectors and mmseg segmentors do not. This one asks
    ``model.backbone.get_layer_depth(name, prefix='backbone.')`` instead, so a parameter of
    backbone depth ``d`` out of ``D`` gets ``lr * layer_decay_rate ** (D - d - 1)``, and necks
    and heads (at the top depth) get the base learning rate. ``paramwise_cfg`` takes the keys
    of :class:`mmpretrain.engine.optimizers.LearningRateDecayOptimWrapperConstructor`
    (``layer_decay_rate``, ``norm_decay_mult``, ``flat_decay_mult``, ``bias_decay_mult``,
    ``custom_keys`` with ``decay_mult``).

    Example:
        >>> optim_wrapper = dict(
        ...     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
        ...     constructor='BackboneLayerDecayOptimWrapperConstructor',
        ...     paramwise_cfg=dict(layer_decay_rate=0.65, flat_decay_mult=0.))
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   get_layer_depth: Optional[Callable] = None,
                   **kwargs) -> None:
        """Adds the parameter groups of ``module``; see the parent class.

        Args:
            params (list[dict]): Parameter groups, extended in place.
            module (nn.Module): The model, with a ``backbone`` attribute at the top level.
            prefix (str): Name prefix of ``module``'s parameters.
            get_layer_depth (Callable, optional): ``name -> (depth, num_depths)``; taken from
                the backbone when the top-level model does not have its own.
        """
        if get_layer_depth is None and not hasattr(module, 'get_layer_depth'):
            backbone = getattr(module, 'backbone', None)
            if not hasattr(backbone, 'get_layer_depth'):
                raise TypeError(
                    f'{type(module).__name__} has no backbone with a get_layer_depth method, '
                    'which layer-wise learning-rate decay needs')
            get_layer_depth = partial(backbone.get_layer_depth, prefix=f'{prefix}backbone.')
        super().add_params(params, module, prefix, get_layer_depth, **kwargs)
