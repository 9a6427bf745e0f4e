"""Ends DDP's search for unused parameters once the tokenizer's autoencoder warm-up is over."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from addp.registry import HOOKS


@HOOKS.register_module()
class UnusedParametersAfterWarmupHook(Hook):
    """Wraps the model again without ``find_unused_parameters`` after the warm-up that needs it.

    During ``VQGAN``'s autoencoder warm-up the codebook takes no part in the loss, so DDP must
    search the autograd graph for unused parameters at every step
    (``find_unused_parameters=True``). Afterwards every parameter is used and the search only
    costs time. DDP fixes that choice when it is built, so once the warm-up is over (or at the
    start of a run resumed after it), the same module is wrapped once more without it. Outside
    DDP, or for a model without a warm-up, it does nothing.
    """

    priority = 'LOW'

    def before_train(self, runner) -> None:
        self._rewrap_after_warmup(runner, iterations_done=runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._rewrap_after_warmup(runner, iterations_done=runner.iter + 1)

    @staticmethod
    def _rewrap_after_warmup(runner, iterations_done: int) -> None:
        model = runner.model
        if not (is_model_wrapper(model) and getattr(model, 'find_unused_parameters', False)
                and hasattr(model.module, 'autoencoder_warmup_iters')):
            return
        # A Python int, not the model's iteration buffer: no device sync at every step.
        if iterations_done < model.module.autoencoder_warmup_iters:
            return
        extra = ({'detect_anomalous_params': model.detect_anomalous_params}
                 if hasattr(model, 'detect_anomalous_params') else {})
        runner.model = type(model)(
            module=model.module,
            device_ids=model.device_ids,
            broadcast_buffers=model.forward_sync_buffers,
            gradient_as_bucket_view=model.gradient_as_bucket_view,
            find_unused_parameters=False,
            **extra)
        runner.logger.info(f'The autoencoder warm-up is over after {iterations_done} '
                           'iterations: DDP no longer searches for unused parameters.')
