"""Algorithms whose frozen parts come from their own files and stay out of checkpoints."""
from typing import Tuple

from mmengine.model import BaseModel


class FrozenPartsModel(BaseModel):
    """A :class:`~mmengine.model.BaseModel` with children that are frozen and file-backed.

    Subclasses name those children in ``frozen_modules``. Their weights are left out of the
    state dict, so checkpoints hold only what training changes, and loading does not miss them.
    """

    frozen_modules: Tuple[str, ...] = ()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._register_state_dict_hook(self._drop_frozen_from_state_dict)
        self.register_load_state_dict_post_hook(self._ignore_missing_frozen_keys)

    @staticmethod
    def _drop_frozen_from_state_dict(module, state_dict, prefix, local_metadata):
        for key in [k for k in state_dict
                    if k[len(prefix):].split('.')[0] in module.frozen_modules]:
            del state_dict[key]
        return state_dict

    @staticmethod
    def _ignore_missing_frozen_keys(module, incompatible_keys) -> None:
        missing = incompatible_keys.missing_keys
        missing[:] = [k for k in missing
                      if not set(k.split('.')).intersection(module.frozen_modules)]
