"""When MMEngine's ``CheckpointHook`` will save: the one place hooks that must act before a
save ask."""
from typing import Optional

from mmengine.hooks import CheckpointHook


def checkpoint_hook(runner) -> Optional[CheckpointHook]:
    """The runner's ``CheckpointHook``, or None."""
    return next((h for h in getattr(runner, 'hooks', ()) if isinstance(h, CheckpointHook)),
                None)


def saves_after_this_iter(runner) -> bool:
    """Whether the ``CheckpointHook`` saves after the current training iteration."""
    hook = checkpoint_hook(runner)
    return hook is not None and not hook.by_epoch and (
        hook.every_n_train_iters(runner, hook.interval, hook.save_begin)
        or (hook.save_last and hook.is_last_train_iter(runner)))


def saves_after_this_epoch(runner) -> bool:
    """Whether the ``CheckpointHook`` saves after the current training epoch."""
    hook = checkpoint_hook(runner)
    return hook is not None and hook.by_epoch and (
        hook.every_n_epochs(runner, hook.interval, hook.save_begin)
        or (hook.save_last and hook.is_last_train_epoch(runner)))
