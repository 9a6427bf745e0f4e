"""Warns, or stops, when a tokenizer being trained stops telling images apart."""
from typing import Dict, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from addp.errors import TrainingStoppedError
from addp.registry import HOOKS


class TokenizerCollapseError(TrainingStoppedError):
    """The tokenizer collapsed and ``TokenizerCollapseHook(stop=True)`` stopped the run."""


@HOOKS.register_module()
class TokenizerCollapseHook(Hook):
    """Watches the ``VQGAN`` algorithm's logged code perplexity and PSNRs for collapse.

    A collapsed tokenizer gives every image the same tokens, so every batch has the same code
    histogram, and it reconstructs no better than the mean image. Two signs, checked every
    ``interval`` iterations once ``begin_after_warmup`` iterations have passed since the
    model's autoencoder warm-up ended (``VQGAN.autoencoder_warmup_iters``, 0 for a tokenizer
    that starts from a checkpoint):

    - the batch's code perplexity has not changed for ``patience`` checks in a row (different
      images give different histograms, so an unchanged one means image-independent codes);
    - the batch's PSNR is below ``psnr_mean_image``, the batch's PSNR against its own mean
      image (only for batches of 2 images or more: one image is its own mean, at 100 dB);
      likewise ``tokenizer/psnr`` against ``tokenizer/psnr_mean_image`` after each
      validation.

    Ranks agree on the verdict: a sign seen on any rank is reported on every rank, so that
    with ``stop=True`` all of them stop at the same iteration and none waits for another.
    Each sign is reported once, in one line, as a warning, or as
    :class:`TokenizerCollapseError` with ``stop=True``. The checkpoints already written stay.

    Args:
        interval (int): Iterations between checks; the logging interval reads best.
        begin_after_warmup (int): Iterations after the autoencoder warm-up before the first
            check: the codes need some steps to separate images once they are initialised.
        patience (int): Checks with an unchanged perplexity that make a collapse.
        stop (bool): Stop the run instead of warning.
    """

    priority = 'LOW'
    # The train-time signs, in the order of the flags the ranks reduce.
    TRAIN_SIGNS = ('codes', 'train_psnr')

    def __init__(self, interval: int = 50, begin_after_warmup: int = 0, patience: int = 4,
                 stop: bool = False) -> None:
        self.interval = interval
        self.begin_after_warmup = begin_after_warmup
        self.patience = patience
        self.stop = stop
        self.last_perplexity: Optional[float] = None
        self.unchanged_checks = 0
        self.reported = set()

    def first_checked_iteration(self, runner) -> int:
        """The model's autoencoder warm-up (if it has one) plus ``begin_after_warmup``."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return getattr(model, 'autoencoder_warmup_iters', 0) + self.begin_after_warmup

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        iteration = runner.iter + 1
        if (not outputs or 'perplexity' not in outputs
                or iteration < self.first_checked_iteration(runner)
                or not self.every_n_train_iters(runner, self.interval)):
            return
        local = self._train_signs(outputs, data_batch, iteration)
        seen = torch.tensor([float(sign in local) for sign in self.TRAIN_SIGNS])
        all_reduce(seen, op='max')
        for sign, anywhere in zip(self.TRAIN_SIGNS, seen.tolist()):
            if anywhere:
                self._report(runner, sign, local.get(sign, self._elsewhere(sign, iteration)))

    def _train_signs(self, outputs: dict, data_batch: Optional[dict],
                     iteration: int) -> Dict[str, str]:
        """This rank's signs of a collapse in its batch, each with its one-line account."""
        signs = {}
        perplexity = float(outputs['perplexity'])
        same = self.last_perplexity is not None and abs(perplexity - self.last_perplexity) < 1e-6
        self.unchanged_checks = self.unchanged_checks + 1 if same else 0
        self.last_perplexity = perplexity
        if self.unchanged_checks >= self.patience:
            signs['codes'] = (
                f'the code perplexity has read {perplexity:.4f} at {self.patience + 1} checks '
                f'{self.interval} iterations apart, up to iteration {iteration}: every image '
                'gets the same codes')
        batch_size = len(data_batch['inputs']) if data_batch and 'inputs' in data_batch else 2
        psnr, baseline = float(outputs['psnr']), float(outputs['psnr_mean_image'])
        if batch_size > 1 and psnr < baseline:
            signs['train_psnr'] = (
                f'at iteration {iteration} the batch PSNR {psnr:.2f} dB is below the '
                f'{baseline:.2f} dB of the batch mean image')
        return signs

    def _elsewhere(self, sign: str, iteration: int) -> str:
        what = ('every image gets the same codes' if sign == 'codes' else
                'the batch PSNR is below that of the batch mean image')
        return f'at iteration {iteration}, on another rank, {what}'

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        # The evaluator gives every rank the same metrics, so the verdict is already shared.
        if (not metrics or 'tokenizer/psnr_mean_image' not in metrics
                or runner.iter < self.first_checked_iteration(runner)):
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
                   'tokenizer collapses" in docs/own_data.md.')
        if self.stop:
            raise TokenizerCollapseError(
                f'{message} Stopping (TokenizerCollapseHook stop=True); the checkpoints in '
                f'{runner.work_dir} are untouched.')
        runner.logger.warning(message)
