"""Training parts of ADDP's pretraining and downstream recipes; importing registers them."""
from .determinism import apply_deterministic_switch, deterministic_requested
from .layer_decay import BackboneLayerDecayOptimWrapperConstructor
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .optim_constructor import FrozenAwareOptimWrapperConstructor
from .random_state_hook import RandomStateHook
from .runners import ClassesFromDataRunner
from .smoke_runner import SmokeRunner
from .tokenizer_collapse_hook import TokenizerCollapseError, TokenizerCollapseHook
from .training_checks import (
    changed_config_keys,
    check_data_classes,
    check_train_batches,
    keep_random_state_hook,
    warn_if_resuming_changed_config,
)
from .unused_parameters_hook import UnusedParametersAfterWarmupHook

__all__ = [
    'BackboneLayerDecayOptimWrapperConstructor', 'ClassesFromDataRunner', 'SmokeRunner',
    'FrozenAwareOptimWrapperConstructor', 'NonFiniteLossError', 'NonFiniteLossHook',
    'RandomStateHook', 'TokenizerCollapseError', 'TokenizerCollapseHook',
    'UnusedParametersAfterWarmupHook', 'apply_deterministic_switch', 'deterministic_requested',
    'changed_config_keys', 'check_data_classes', 'check_train_batches', 'keep_random_state_hook',
    'warn_if_resuming_changed_config'
]
