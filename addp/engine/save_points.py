"""When MMEngine's ``CheckpointHook`` will save: the one place hooks that must act before a
save ask."""
from typing import Optional, Type, TypeVar

from mmengine.hooks import CheckpointHook, Hook

HookType = TypeVar('HookType', bound=Hook)


def find_hook(runner, hook_type: Type[HookType]) -> Optional[HookType]:
    """The runner's first hook of ``hook_type``, or None."""
    return next((h for h in getattr(runner, 'hooks', ()) if isinstance(h, hook_type)), None)


def saves_after_this_iter(runner) -> bool:
    """Whether the ``CheckpointHook`` saves after the current training iteration."""
    hook = find_hook(runner, CheckpointHook)
    return hook is not None and not hook.by_epoch and (
        hook.every_n_train_iters(runner, hook.interval, hook.save_begin)
        or (hook.save_last and hook.is_last_train_iter(runner)))


def saves_after_this_epoch(runner) -> bool:
    """Whether the ``CheckpointHook`` saves after the current training epoch."""
    hook = find_hook(runner, CheckpointHook)
    return hook is not None and hook.by_epoch and (
        hook.every_n_epochs(runner, hook.interval, hook.save_begin)
        or (hook.save_last and hook.is_last_train_epoch(runner)))
