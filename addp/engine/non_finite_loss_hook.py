"""Stops training at a non-finite loss, unless an fp16 loss scaler skips that step."""
import math
from typing import List, NamedTuple, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook, LoggerHook
from mmengine.optim import AmpOptimWrapper

from addp.errors import TrainingStoppedError
from addp.registry import HOOKS

from .save_points import find_hook, saves_after_this_iter


class NonFiniteLossError(TrainingStoppedError, FloatingPointError):
    """The training loss became NaN or infinite."""


class _PendingLoss(NamedTuple):
    """An iteration's loss, kept on the device until the next check."""
    iteration: int  # 1-based, as the log counts
    epoch: int  # 1-based
    finite: torch.Tensor  # 0-d bool
    value: torch.Tensor  # 0-d float, for the message


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raises :class:`NonFiniteLossError` when the loss of an iteration is not finite.

    As in the official loop, fp32 and bf16 runs stop, while an fp16 run with a loss scaler only
    warns: the scaler skips the step of a non-finite loss (its gradients are not finite) and
    lowers its scale, so the weights stay as they were. A long run of skipped steps means the
    run diverged rather than overflowed, and stops it too.

    Reading a loss makes the host wait for the device, so the losses stay on the device and
    are read together at a check, which comes
      - every ``check_interval`` iterations (by default the logger's interval, whose log
        reads the losses anyway);
      - after every iteration and epoch that ``CheckpointHook`` saves, before validation,
        at the end of each epoch and at the end of training;
      - every iteration under an enabled fp16 loss scaler, which reads its overflow flag
        every step anyway and must learn at once which steps it skipped.

    It runs before :class:`~mmengine.hooks.CheckpointHook` (priority ``VERY_HIGH``), so the
    iteration that diverged is never saved and the checkpoints already on disk stay as they
    are. The price of checking in batches: a divergence is noticed up to ``check_interval - 1``
    iterations late, and those iterations' compute is lost (never saved); the message names
    the first non-finite iteration. Ranks agree on the verdict (one all-reduce a check), so a
    NaN on one rank stops all of them together.

    Args:
        tolerate_in_fp16 (bool): Under an enabled fp16 loss scaler, warn and go on. Defaults
            to True, as the released fp16 recipe trained.
        max_skipped_steps (int): Stop after this many non-finite fp16 steps in a row (the
            scale has then fallen by ``2 ** max_skipped_steps``).
        check_interval (int, optional): Iterations between checks; None takes the
            ``LoggerHook``'s interval, and checks every iteration where there is none.
    """

    priority = 'VERY_HIGH'

    def __init__(self, tolerate_in_fp16: bool = True, max_skipped_steps: int = 50,
                 check_interval: Optional[int] = None) -> None:
        self.tolerate_in_fp16 = tolerate_in_fp16
        self.max_skipped_steps = max_skipped_steps
        self.check_interval = check_interval
        self.skipped_in_a_row = 0
        self._pending: List[_PendingLoss] = []

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or 'loss' not in outputs:
            return
        loss = torch.as_tensor(outputs['loss']).detach().float()
        self._pending.append(_PendingLoss(runner.iter + 1, runner.epoch + 1,
                                          torch.isfinite(loss).all(), loss.mean()))
        if self._check_now(runner):
            self._check(runner)

    def after_train_epoch(self, runner) -> None:
        self._check(runner)

    def before_val(self, runner) -> None:
        self._check(runner)

    def after_train(self, runner) -> None:
        self._check(runner)

    def _check_now(self, runner) -> bool:
        """Whether this iteration reads the pending losses."""
        if self._fp16_scaler_active(runner):
            return True
        interval = self.check_interval
        if interval is None:
            logger = find_hook(runner, LoggerHook)
            interval = None if logger is None else logger.interval
        if interval is None or (runner.iter + 1) % interval == 0:
            return True
        return saves_after_this_iter(runner)

    def _check(self, runner) -> None:
        """Reads the pending losses (one read, one all-reduce) and acts on each in order."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        finite = torch.stack([entry.finite for entry in pending]).float()
        all_reduce(finite, op='min')
        for entry, is_finite in zip(pending, finite.tolist()):
            if is_finite == 1:
                self.skipped_in_a_row = 0
            else:
                self._stop_or_skip(runner, entry)

    def _stop_or_skip(self, runner, entry: _PendingLoss) -> None:
        value = entry.value.item()
        where = f'iteration {entry.iteration} (epoch {entry.epoch})'
        shown = value if not math.isfinite(value) else 'not finite on another rank'
        if self.tolerate_in_fp16 and self._fp16_scaler_active(runner):
            self.skipped_in_a_row += 1
            if self.skipped_in_a_row < self.max_skipped_steps:
                runner.logger.warning(f'Loss is {shown} at {where}; the fp16 loss scaler skips '
                                      'this step and lowers its scale.')
                return
            raise NonFiniteLossError(
                f'Loss is {shown} at {where}, and the loss scaler skipped '
                f'{self.skipped_in_a_row} fp16 steps in a row; stopping. {self._advice(runner)}')
        raise NonFiniteLossError(f'Loss is {shown} at {where}; stopping. '
                                 f'{self._advice(runner)}')

    @staticmethod
    def _advice(runner) -> str:
        return (f'This iteration was not saved, and the checkpoints in {runner.work_dir} are '
                'untouched: resume from the last one with --resume, with a lower learning rate '
                'or another precision (--amp-dtype bfloat16).')

    @staticmethod
    def _fp16_scaler_active(runner) -> bool:
        wrapper = runner.optim_wrapper
        return (isinstance(wrapper, AmpOptimWrapper) and wrapper.loss_scaler.is_enabled()
                and wrapper.cast_dtype in (None, torch.float16))
