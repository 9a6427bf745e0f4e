from .io import allow_mmengine_checkpoint_globals, read_checkpoint
from .loading import (
    CheckpointKeyError,
    extract_state_dict,
    load_frozen_checkpoint,
    load_state_dict_checked,
)
from .official import (
    addp_config_from_official,
    convert_classifier_to_official,
    convert_official_classifier,
    convert_official_pretrain,
    convert_to_official_pretrain,
    is_official_pretrain,
)
from .pretrained import load_addp_checkpoint, load_backbone_weights
from .released_files import export_released_part, released_layout, write_released_files

__all__ = [
    'allow_mmengine_checkpoint_globals', 'read_checkpoint', 'CheckpointKeyError',
    'extract_state_dict', 'load_frozen_checkpoint', 'load_state_dict_checked',
    'convert_official_pretrain', 'convert_to_official_pretrain', 'convert_official_classifier',
    'is_official_pretrain', 'load_addp_checkpoint', 'load_backbone_weights',
    'addp_config_from_official', 'convert_classifier_to_official', 'export_released_part',
    'released_layout', 'write_released_files'
]
