"""Stops pretraining at the first non-finite loss, as the official loop does."""
import math
from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.optim import AmpOptimWrapper

from addp.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raises :class:`NonFiniteLossError` when the loss of an iteration is not finite.

    It runs before :class:`~mmengine.hooks.CheckpointHook` (priority ``VERY_HIGH``), so the
    iteration that diverged is never saved and the checkpoints already on disk stay as they
    are. Ranks agree on the verdict, so a NaN on one rank stops all of them together.

    Args:
        tolerate_in_fp16 (bool): With an fp16 loss scaler, only warn: the scaler skips the
            step of a non-finite loss and lowers its scale, which is what the released fp16
            recipe relied on. Defaults to False: stop, as the official fp32 loop does.
    """

    priority = 'VERY_HIGH'

    def __init__(self, tolerate_in_fp16: bool = False) -> None:
        self.tolerate_in_fp16 = tolerate_in_fp16

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
            return
        value = loss.mean().item()
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
        if self.tolerate_in_fp16 and self._fp16_scaler_active(runner):
            runner.logger.warning(f'Loss is {value} at {where}; the fp16 loss scaler skips '
                                  'this step and lowers its scale.')
            return
        shown = value if not math.isfinite(value) else 'not finite on another rank'
        raise NonFiniteLossError(
            f'Loss is {shown} at {where}; stopping. This iteration was not saved, and the '
            f'checkpoints in {runner.work_dir} are untouched: resume from the last one with '
            '--resume, with a lower learning rate or another precision (--amp-dtype bfloat16).')

    @staticmethod
    def _fp16_scaler_active(runner) -> bool:
        wrapper = runner.optim_wrapper
        return (isinstance(wrapper, AmpOptimWrapper) and wrapper.loss_scaler.is_enabled()
                and wrapper.cast_dtype in (None, torch.float16))
