"""Checks that ``tools/train.py`` runs before training starts, and the hook it keeps."""
from typing import Any, Dict, List, Optional

from mmengine.config import Config
from mmengine.dist import get_rank, get_world_size
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import find_latest_checkpoint

from addp.checkpoint import read_checkpoint
from addp.errors import InvalidInputError

from .random_state_hook import RandomStateHook
from .save_points import find_hook

# Entries that say where a run lives or how it was started, not what it computes.
RUN_LOCATION_KEYS = ('resume', 'load_from', 'work_dir', 'launcher')
MAX_SHOWN = 10


def _flatten(value: Any, prefix: str = '') -> Dict[str, Any]:
    if isinstance(value, dict) and value:
        flat = {}
        for key, item in value.items():
            flat.update(_flatten(item, f'{prefix}{key}.'))
        return flat
    return {prefix[:-1]: value}


def changed_config_keys(saved: Config, now: Config) -> List[str]:
    """``key: saved -> now`` for every entry that differs, run locations left out."""
    before, after = _flatten(saved.to_dict()), _flatten(now.to_dict())
    keys = sorted(k for k in set(before) | set(after)
                  if k.split('.')[0] not in RUN_LOCATION_KEYS and before.get(k) != after.get(k))
    return [f'{k}: {before.get(k, "(absent)")!r:.60} -> {after.get(k, "(absent)")!r:.60}'
            for k in keys]


def resumed_checkpoint(cfg: Config) -> Optional[str]:
    """The checkpoint that MMEngine will resume from, as its runner picks it."""
    if not cfg.get('resume'):
        return None
    return cfg.get('load_from') or find_latest_checkpoint(cfg.work_dir)


def warn_if_resuming_changed_config(cfg: Config) -> None:
    """Warns, naming the entries, when a run resumes a checkpoint written with another config."""
    path = resumed_checkpoint(cfg)
    if path is None or get_rank() != 0:
        return
    saved_text = read_checkpoint(path, mmap=True).get('meta', {}).get('cfg')
    if not saved_text:
        return
    try:
        saved = Config.fromstring(saved_text, file_format='.py')
    except Exception:  # a config that does not parse alone (custom imports): nothing to compare
        return
    changes = changed_config_keys(saved, cfg)
    if changes:
        shown = '; '.join(changes[:MAX_SHOWN])
        more = f' and {len(changes) - MAX_SHOWN} more' if len(changes) > MAX_SHOWN else ''
        print_log(f'resuming {path}, which was written with another config: {shown}{more}. '
                  'If this is a new experiment, give it another --work-dir.', 'current',
                  level=30)


def keep_random_state_hook(runner) -> None:
    """Adds :class:`RandomStateHook` to a runner whose config left it out, so that resuming
    still continues the same run."""
    if find_hook(runner, RandomStateHook) is None:
        runner.register_hook(RandomStateHook())
        print_log('custom_hooks has no RandomStateHook: added one, so that --resume continues '
                  'the same run', 'current')


def check_train_batches(runner) -> None:
    """Builds the training data (its own checks run then) and refuses data smaller than one
    global batch, which would train zero iterations per epoch or repeat images in a batch."""
    loader = runner.train_loop.dataloader
    num_images, batch_size = len(loader.dataset), loader.batch_size
    world_size = get_world_size()
    if num_images < batch_size * world_size:
        fix = (f'lower train_dataloader.batch_size to at most {num_images // world_size}'
               if num_images >= world_size else f'use at most {num_images} processes')
        raise InvalidInputError(
            f'the training data has {num_images} images, fewer than one global batch of '
            f'{batch_size * world_size} ({batch_size} per process x {world_size} processes); '
            f'{fix}, or add images.')


def check_data_classes(runner) -> None:
    """Refuses labelled training data with more classes than a class-conditional model knows.

    Once, before training: the training steps read the labels without waiting for the device,
    so an unknown class would stop a step with a device assertion rather than this message.
    """
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    # ADDP says whether it is class-conditional; MAGE's token predictor does.
    part = model if hasattr(model, 'class_conditional') else getattr(model, 'token_predictor',
                                                                       None)
    if part is None or not getattr(part, 'class_conditional', False):
        return
    classes = runner.train_loop.dataloader.dataset.metainfo.get('classes') or ()
    if len(classes) > part.num_classes:
        raise InvalidInputError(
            f'the training data has {len(classes)} classes but the model knows '
            f'{part.num_classes}; set num_classes of model.neck and model.token_predictor to '
            f'{len(classes)}, or train on data of at most {part.num_classes} classes')
