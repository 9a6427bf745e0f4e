"""Algorithms whose frozen parts come from their own files and stay out of checkpoints."""
import copy
from typing import Dict, Mapping, Tuple

from mmengine.model import BaseModel


class FrozenPartsModel(BaseModel):
    """A :class:`~mmengine.model.BaseModel` with children that are frozen and file-backed.

    The one declaration of which parts are frozen. Subclasses name those children in
    ``frozen_modules`` and, among them, the ones only training reads in
    ``training_only_modules``. Frozen weights are left out of the state dict, so checkpoints
    hold only what training changes, and loading does not miss them. Checkpoint loaders,
    converters, summaries and samplers ask this class rather than naming the parts.
    """

    frozen_modules: Tuple[str, ...] = ()
    training_only_modules: Tuple[str, ...] = ()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._register_state_dict_hook(self._drop_frozen_from_state_dict)
        self.register_load_state_dict_post_hook(self._ignore_missing_frozen_keys)

    @classmethod
    def is_frozen_key(cls, key: str) -> bool:
        """Whether a state-dict key of this model (no prefix) belongs to a frozen part."""
        return key.split('.')[0] in cls.frozen_modules

    @classmethod
    def without_frozen_parts(cls, state_dict: Mapping) -> Dict:
        """The entries of ``state_dict`` that training changes."""
        return {k: v for k, v in state_dict.items() if not cls.is_frozen_key(k)}

    @classmethod
    def inference_config(cls, model_cfg: Mapping) -> dict:
        """``model_cfg`` without the frozen parts only training reads (nothing to build or
        load for sampling and feature extraction)."""
        model_cfg = copy.deepcopy(model_cfg)
        for name in cls.training_only_modules:
            model_cfg[name] = None
        return model_cfg

    @classmethod
    def config_without_frozen_files(cls, model_cfg: Mapping) -> dict:
        """``model_cfg`` with every frozen part built from its config alone (random weights),
        for counting parameters or writing untrained files."""
        model_cfg = copy.deepcopy(model_cfg)
        for name in cls.frozen_modules:
            if model_cfg.get(name):
                model_cfg[name] = dict(model_cfg[name], checkpoint=None)
        return model_cfg

    @staticmethod
    def _drop_frozen_from_state_dict(module, state_dict, prefix, local_metadata):
        for key in [k for k in state_dict if module.is_frozen_key(k[len(prefix):])]:
            del state_dict[key]
        return state_dict

    @staticmethod
    def _ignore_missing_frozen_keys(module, incompatible_keys) -> None:
        missing = incompatible_keys.missing_keys
        missing[:] = [k for k in missing
                      if not set(k.split('.')).intersection(module.frozen_modules)]
