"""UnusedParametersAfterWarmupHook: DDP searches for unused parameters during the VQGAN's
autoencoder warm-up only."""
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper

from addp.engine import UnusedParametersAfterWarmupHook
from addp.models import VQGAN
from addp.testing import TINY_VQGAN


class _Logger:

    def __init__(self):
        self.lines = []

    def info(self, line):
        self.lines.append(line)


@pytest.fixture
def one_process_group(tmp_path):
    torch_dist.init_process_group('gloo', rank=0, world_size=1,
                                  store=torch_dist.FileStore(str(tmp_path / 'store'), 1))
    yield
    torch_dist.destroy_process_group()


def _runner(warmup):
    torch.manual_seed(0)
    vqgan = VQGAN(tokenizer=TINY_VQGAN, codebook_reviver=None, autoencoder_warmup_iters=warmup)
    vqgan.init_weights()
    model = MMDistributedDataParallel(module=vqgan, device_ids=None, broadcast_buffers=False,
                                      find_unused_parameters=True)
    optim = OptimWrapper(torch.optim.Adam(vqgan.parameters(), lr=1e-3))
    return SimpleNamespace(model=model, optim_wrapper=optim, iter=0, logger=_Logger())


def _train_iter(runner, hook):
    runner.model.train_step(dict(inputs=torch.rand(2, 3, 32, 32)), runner.optim_wrapper)
    hook.after_train_iter(runner, 0)
    runner.iter += 1


def test_the_search_ends_with_the_warmup_and_training_goes_on(one_process_group):
    hook, runner = UnusedParametersAfterWarmupHook(), _runner(warmup=2)
    hook.before_train(runner)
    module = runner.model.module
    _train_iter(runner, hook)
    assert runner.model.find_unused_parameters and runner.logger.lines == []
    _train_iter(runner, hook)  # the warm-up's last iteration
    assert not runner.model.find_unused_parameters
    assert runner.model.module is module and isinstance(runner.model, MMDistributedDataParallel)
    assert runner.logger.lines == [
        'The autoencoder warm-up is over after 2 iterations: DDP no longer searches for '
        'unused parameters.']
    # The codebook now takes part: without the search, a step with an unused parameter would
    # fail in the next step's reducer.
    codebook = module.tokenizer.codebook.detach().clone()
    for _ in range(2):
        _train_iter(runner, hook)
    assert not torch.equal(codebook, module.tokenizer.codebook)
    assert len(runner.logger.lines) == 1


def test_a_run_resumed_after_the_warmup_starts_without_the_search(one_process_group):
    hook, runner = UnusedParametersAfterWarmupHook(), _runner(warmup=2)
    runner.iter = 5
    hook.before_train(runner)
    assert not runner.model.find_unused_parameters


def test_models_without_a_warmup_and_unwrapped_models_are_left_alone(one_process_group):
    hook = UnusedParametersAfterWarmupHook()
    plain = SimpleNamespace(model=torch.nn.Linear(2, 2), iter=9, logger=_Logger())
    hook.before_train(plain)
    assert isinstance(plain.model, torch.nn.Linear)
    wrapped = SimpleNamespace(
        model=MMDistributedDataParallel(module=torch.nn.Linear(2, 2), device_ids=None,
                                        find_unused_parameters=True),
        iter=9, logger=_Logger())
    hook.before_train(wrapped)
    assert wrapped.model.find_unused_parameters
