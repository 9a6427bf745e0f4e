"""An optimizer constructor that leaves frozen modules out."""
from typing import List, Optional, Union

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor

from addp.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FrozenAwareOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """MMEngine's default constructor, skipping submodules that have no trainable parameter.

    ADDP's frozen tokenizer and token predictor hold about 460M parameters at ViT-L. The
    default constructor warns once per frozen tensor (hundreds of lines); this one leaves each
    frozen submodule out with one log line. Trainable parameters get exactly the groups that
    :class:`~mmengine.optim.DefaultOptimWrapperConstructor` gives them, ``paramwise_cfg``
    included.
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[Union[int, float]] = None) -> None:
        frozen = [p for p in module.parameters() if not p.requires_grad]
        if frozen and len(frozen) == sum(1 for _ in module.parameters()):
            count = sum(p.numel() for p in frozen)
            source = getattr(module, 'checkpoint', None)
            source = f' from {source}' if isinstance(source, str) else ''
            print_log(f'{prefix or type(module).__name__}: {count / 1e6:.2f}M frozen parameters'
                      f'{source}, left out of the optimizer', logger='current')
            return
        super().add_params(params, module, prefix, is_dcn_module)
