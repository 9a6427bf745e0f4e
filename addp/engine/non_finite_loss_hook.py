"""Stops training at a non-finite loss, unless an fp16 loss scaler skips that step."""
import math
from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.optim import AmpOptimWrapper

from addp.errors import TrainingStoppedError
from addp.registry import HOOKS


class NonFiniteLossError(TrainingStoppedError, FloatingPointError):
    """The training loss became NaN or infinite."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raises :class:`NonFiniteLossError` when the loss of an iteration is not finite.

    As in the official loop, fp32 and bf16 runs stop, while an fp16 run with a loss scaler only
    warns: the scaler skips the step of a non-finite loss (its gradients are not finite) and
    lowers its scale, so the weights stay as they were. A long run of skipped steps means the
    run diverged rather than overflowed, and stops it too.

    It runs before :class:`~mmengine.hooks.CheckpointHook` (priority ``VERY_HIGH``), so the
    iteration that diverged is never saved and the checkpoints already on disk stay as they
    are. Ranks agree on the verdict, so a NaN on one rank stops all of them together.

    Args:
        tolerate_in_fp16 (bool): Under an enabled fp16 loss scaler, warn and go on. Defaults
            to True, as the released fp16 recipe trained.
        max_skipped_steps (int): Stop after this many non-finite fp16 steps in a row (the
            scale has then fallen by ``2 ** max_skipped_steps``).
    """

    priority = 'VERY_HIGH'

    def __init__(self, tolerate_in_fp16: bool = True, max_skipped_steps: int = 50) -> None:
        self.tolerate_in_fp16 = tolerate_in_fp16
        self.max_skipped_steps = max_skipped_steps
        self.skipped_in_a_row = 0

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or 'loss' not in outputs:
            return
        loss = torch.as_tensor(outputs['loss']).detach().float()
        finite = torch.isfinite(loss).all().float().reshape(1)
        all_reduce(finite, op='min')
        if finite.item() == 1:
            self.skipped_in_a_row = 0
            return
        value = loss.mean().item()
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
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
