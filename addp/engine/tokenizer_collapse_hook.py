"""Warns, or stops, when a tokenizer being trained stops telling images apart."""
from typing import Optional

from mmengine.hooks import Hook

from addp.errors import TrainingStoppedError
from addp.registry import HOOKS


class TokenizerCollapseError(TrainingStoppedError):
    """The tokenizer collapsed and ``TokenizerCollapseHook(stop=True)`` stopped the run."""


@HOOKS.register_module()
class TokenizerCollapseHook(Hook):
    """Watches the ``VQGAN`` algorithm's logged code perplexity and PSNRs for collapse.

    A collapsed tokenizer gives every image the same tokens, so every batch has the same code
    histogram, and it reconstructs no better than the mean image. Two signs, checked every
    ``interval`` iterations once ``begin`` is reached:

    - the batch's code perplexity has not changed for ``patience`` checks in a row (different
      images give different histograms, so an unchanged one means image-independent codes);
    - the batch's PSNR is below ``psnr_mean_image``, the batch's PSNR against its own mean
      image; likewise ``tokenizer/psnr`` against ``tokenizer/psnr_mean_image`` after each
      validation.

    Each sign is reported once, in one line, as a warning, or as
    :class:`TokenizerCollapseError` with ``stop=True``. The checkpoints already written stay.

    Args:
        interval (int): Iterations between checks; the logging interval reads best.
        begin (int): First iteration checked: the end of the learning-rate warm-up.
        patience (int): Checks with an unchanged perplexity that make a collapse.
        stop (bool): Stop the run instead of warning.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 50, begin: int = 0, patience: int = 4,
                 stop: bool = False) -> None:
        self.interval = interval
        self.begin = begin
        self.patience = patience
        self.stop = stop
        self.last_perplexity: Optional[float] = None
        self.unchanged_checks = 0
        self.reported = set()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        iteration = runner.iter + 1
        if (not outputs or 'perplexity' not in outputs or iteration < self.begin
                or not self.every_n_train_iters(runner, self.interval)):
            return
        perplexity = float(outputs['perplexity'])
        same = self.last_perplexity is not None and abs(perplexity - self.last_perplexity) < 1e-6
        self.unchanged_checks = self.unchanged_checks + 1 if same else 0
        self.last_perplexity = perplexity
        if self.unchanged_checks >= self.patience:
            self._report(runner, 'codes', (
                f'the code perplexity has read {perplexity:.4f} at {self.patience + 1} checks '
                f'{self.interval} iterations apart, up to iteration {iteration}: every image '
                'gets the same codes'))
        psnr, baseline = float(outputs['psnr']), float(outputs['psnr_mean_image'])
        if psnr < baseline:
            self._report(runner, 'train_psnr', (
                f'at iteration {iteration} the batch PSNR {psnr:.2f} dB is below the '
                f'{baseline:.2f} dB of the batch mean image'))

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if not metrics or 'tokenizer/psnr_mean_image' not in metrics or runner.iter < self.begin:
            return
        psnr, baseline = metrics['tokenizer/psnr'], metrics['tokenizer/psnr_mean_image']
        if psnr < baseline:
            self._report(runner, 'val_psnr', (
                f'the held-out PSNR {psnr:.2f} dB is below the {baseline:.2f} dB of the '
                'held-out mean image'))

    def _report(self, runner, sign: str, what: str) -> None:
        if sign in self.reported:
            return
        self.reported.add(sign)
        message = (f'Tokenizer collapse: {what}. Lower the learning rate, or see "When the '
                   'tokenizer collapses" in the README.')
        if self.stop:
            raise TokenizerCollapseError(
                f'{message} Stopping (TokenizerCollapseHook stop=True); the checkpoints in '
                f'{runner.work_dir} are untouched.')
        runner.logger.warning(message)
