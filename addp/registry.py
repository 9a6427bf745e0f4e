"""ADDP's registries: children with scope ``addp`` of mmpretrain's, which are mmengine's children.

With ``default_scope = 'addp'`` a config names ADDP modules and mmpretrain's datasets,
transforms, heads and metrics by plain type, since a lookup climbs addp -> mmpretrain ->
mmengine. An mmpretrain config reaches ADDP with the prefix (``type='addp.ADDPViT'``). The mmdet
and mmseg projects register the classes they import into their host's registries.

Each registry imports its own and its parent's modules on first lookup (``locations``), so
configs need no ``custom_imports``.
"""
from mmengine import registry as mmengine_registry
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry


def _child(parent: Registry, *locations: str) -> Registry:
    # A lookup that climbs to the parent does not import the parent's modules; this one does.
    return Registry(parent.name, parent=parent, scope='addp',
                    locations=[*locations, *parent._locations])


# The registries that hold ADDP modules, each with the package it imports on first lookup.
MODELS = _child(mmpretrain_registry.MODELS, 'addp.models')
DATASETS = _child(mmpretrain_registry.DATASETS, 'addp.datasets')
TRANSFORMS = _child(mmpretrain_registry.TRANSFORMS, 'addp.datasets')
HOOKS = _child(mmpretrain_registry.HOOKS, 'addp.engine')
RUNNERS = _child(mmpretrain_registry.RUNNERS, 'addp.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child(mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS, 'addp.engine')
METRICS = _child(mmpretrain_registry.METRICS, 'addp.evaluation')
# The others hold none of ours; they exist so that the ``addp`` scope resolves in every tree.
(MODEL_WRAPPERS, WEIGHT_INITIALIZERS, BATCH_AUGMENTS, DATA_SAMPLERS, LOOPS, LOG_PROCESSORS,
 OPTIMIZERS, OPTIM_WRAPPERS, PARAM_SCHEDULERS, EVALUATORS, VISUALIZERS, VISBACKENDS) = (
     _child(getattr(mmpretrain_registry, name))
     for name in ('MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'DATA_SAMPLERS',
                  'LOOPS', 'LOG_PROCESSORS', 'OPTIMIZERS', 'OPTIM_WRAPPERS', 'PARAM_SCHEDULERS',
                  'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS'))
# mmpretrain has no child of these, or one outside mmengine's tree; ours hang on mmengine's.
EVALUATOR, FUNCTIONS, INFERENCERS, STRATEGIES, TASK_UTILS, RUNNER_CONSTRUCTORS = (
    _child(getattr(mmengine_registry, name))
    for name in ('EVALUATOR', 'FUNCTIONS', 'INFERENCERS', 'STRATEGIES', 'TASK_UTILS',
                 'RUNNER_CONSTRUCTORS'))

__all__ = [
    'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'HOOKS', 'RUNNERS', 'LOOPS', 'LOG_PROCESSORS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATORS',
    'VISUALIZERS', 'VISBACKENDS', 'EVALUATOR', 'FUNCTIONS', 'INFERENCERS', 'STRATEGIES',
    'TASK_UTILS', 'RUNNER_CONSTRUCTORS'
]
