"""Random states in checkpoints, so that a resumed run continues the run it resumes."""
import random
from typing import Iterator, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from addp.registry import HOOKS

from .save_points import saves_after_this_epoch, saves_after_this_iter

CHECKPOINT_KEY = 'random_states'


def capture_random_states() -> dict:
    """This process's Python, numpy, torch CPU and (when present) CUDA generator states."""
    states = dict(python=random.getstate(), numpy=np.random.get_state(legacy=False),
                  torch=torch.get_rng_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(states: dict) -> None:
    """Sets the generators to states from :func:`capture_random_states`."""
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


class _RestoreAfterSkip:
    """Wraps a loop's data iterator: after the batches a resumed loop skips, it restores the
    random states, so that the first new batch is drawn as the original run drew it."""

    def __init__(self, loop: IterBasedTrainLoop, skip: int, states: dict) -> None:
        self.loop, self.iterator = loop, loop.dataloader_iterator
        self.skip, self.states = skip, states

    def __iter__(self) -> Iterator:
        return self

    def __next__(self):
        batch = next(self.iterator)
        self.skip -= 1
        if self.skip == 0:
            restore_random_states(self.states)
            self.loop.dataloader_iterator = self.iterator
        return batch


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Saves every rank's random states with each checkpoint and restores them on resume.

    A resumed run then draws the same mask ratios, masks, dropout, augmentations and codebook
    restarts as an uninterrupted run: its weights and losses are identical on CPU. The states
    are those of Python's ``random``, numpy's global generator, torch's CPU generator and each
    CUDA device's; ADDP's mask generators, the codebook reviver and the data pipeline draw from
    these. Samplers need nothing: MMEngine seeds them by epoch, and an iteration-based loop
    replays its skipped batches. Dataloader workers are seeded by MMEngine for each epoch,
    except persistent ones, whose streams restart at the resumed epoch (a warning says so).

    Validation runs after the checkpoint is saved, and a resumed run skips it; so the states
    are put back after every validation, which therefore never moves the training streams
    (each ``iter(val_loader)`` alone draws a seed from torch's generator).

    Rank 0 writes the checkpoint, so the states of all ranks are gathered just before the
    ``CheckpointHook`` saves. A checkpoint without them (an older one, or an official file), or
    one written by another number of processes, resumes with the streams restarted from the
    seed, and says so in one line.
    """

    priority = 'LOW'  # after the model step, before CheckpointHook (VERY_LOW) saves

    def __init__(self) -> None:
        self._gathered: Optional[dict] = None
        self._loaded: Optional[dict] = None
        self._before_val: Optional[dict] = None

    def _gather(self, runner) -> None:
        self._gathered = dict(position=(runner.epoch, runner.iter),
                              world_size=get_dist_info()[1],
                              ranks=all_gather_object(capture_random_states()))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if saves_after_this_iter(runner):
            self._gather(runner)

    def after_train_epoch(self, runner) -> None:
        if saves_after_this_epoch(runner):
            self._gather(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        gathered = self._gathered
        if gathered is not None and gathered['position'] == (runner.epoch, runner.iter):
            checkpoint[CHECKPOINT_KEY] = dict(world_size=gathered['world_size'],
                                              ranks=gathered['ranks'])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Kept until training starts: resuming sets the loop position after this hook.
        self._loaded = dict(iter=checkpoint.get('meta', {}).get('iter'),
                            states=checkpoint.get(CHECKPOINT_KEY))

    def before_val(self, runner) -> None:
        self._before_val = capture_random_states()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            restore_random_states(self._before_val)
            self._before_val = None

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if getattr(loader, 'persistent_workers', False) and loader.num_workers > 0:
            print_log('train_dataloader has persistent_workers=True: a resumed run restarts the '
                      "workers' random streams, so its augmentations differ from an "
                      'uninterrupted run. Set persistent_workers=False for an exact resume.',
                      'current', level=30)
        loaded, self._loaded = self._loaded, None
        if loaded is None or runner.iter == 0 or runner.iter != loaded['iter']:
            return  # a fresh run, or weights loaded without resuming
        saved = loaded['states']
        rank, world_size = get_dist_info()
        if saved is None:
            print_log('The resumed checkpoint holds no random states (an older or official '
                      'file): the random streams restart from the seed.', 'current')
            return
        if saved['world_size'] != world_size:
            print_log(f'The resumed checkpoint was written by {saved["world_size"]} processes '
                      f'and this run has {world_size}: the random streams restart from the '
                      'seed.', 'current', level=30)
            return
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop) and runner.iter > 0:
            loop.dataloader_iterator = _RestoreAfterSkip(loop, runner.iter, saved['ranks'][rank])
        else:
            restore_random_states(saved['ranks'][rank])
