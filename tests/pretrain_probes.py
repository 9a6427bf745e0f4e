"""Runs of ``tools/train.py`` on the smoke-run config, and hooks that observe or disturb them.

A run's config inherits ``configs/addp/smoke_tiny.py`` and imports this module with
``custom_imports``; the run's working directory is a test's temporary folder, so the smoke
run's data and work dir land there.
"""
import hashlib
import json
import os
import os.path as osp
import signal
import subprocess
import sys
from contextlib import contextmanager
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import HOOKS, OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module(force=True)
class CpuAmpOptimWrapper(AmpOptimWrapper):
    """MMEngine's mixed-precision wrapper on the CPU, whose constructor insists on a GPU: the
    same backward, loss scaling and step, with torch's CPU autocast and ``GradScaler``. fp16
    scales the loss dynamically; bf16 runs without a scaler, as ``tools/train.py`` sets it."""

    def __init__(self, dtype: str = 'float16', **kwargs) -> None:
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.cast_dtype = getattr(torch, dtype)
        self.loss_scaler = torch.amp.GradScaler(
            'cpu', enabled=self.cast_dtype == torch.float16)

    @contextmanager
    def optim_context(self, model):
        with OptimWrapper.optim_context(self, model), \
                torch.autocast('cpu', dtype=self.cast_dtype):
            yield


@HOOKS.register_module(force=True)
class RecordLrHook(Hook):
    """Appends ``{"iter": n, "lr": lr}`` for each iteration n (1-based), with the lr it uses."""

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.rank == 0:
            lr = runner.optim_wrapper.optimizer.param_groups[0]['lr']
            with open(self.out_file, 'a') as f:
                f.write(json.dumps(dict(iter=runner.iter + 1, lr=lr)) + '\n')


@HOOKS.register_module(force=True)
class DumpStartStateHook(Hook):
    """Saves the iteration, optimizer and scheduler state the loop starts from."""

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file

    def before_train(self, runner) -> None:
        torch.save(
            dict(iter=runner.iter, epoch=runner.epoch,
                 optimizer=runner.optim_wrapper.state_dict(),
                 param_schedulers=[s.state_dict() for s in runner.param_schedulers]),
            self.out_file)


def _kill_after_every_rank_got_here() -> None:
    # Rank 0 writes the checkpoint; another rank dying first would make the launcher stop it
    # halfway through the file.
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
    os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module(force=True)
class SigkillAfterEpochHook(Hook):
    """Kills its own process with SIGKILL once the checkpoint of ``epoch`` is written."""

    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.epoch:
            _kill_after_every_rank_got_here()


@HOOKS.register_module(force=True)
class SigkillAfterIterHook(Hook):
    """Kills its own process with SIGKILL once the checkpoint of iteration ``iter`` is written."""

    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self, iter: int) -> None:
        self.iter = iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.iter:
            _kill_after_every_rank_got_here()


@HOOKS.register_module(force=True)
class CtrlCAfterIterHook(Hook):
    """Sends SIGINT to the whole launch, as Ctrl-C in its terminal does, after iteration
    ``iter`` on rank 0. The launch must run in its own process group."""

    def __init__(self, iter: int) -> None:
        self.iter = iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.iter and runner.rank == 0:
            os.killpg(os.getpgid(0), signal.SIGINT)


@HOOKS.register_module(force=True)
class CollapseOnRankHook(Hook):
    """Logs what a ``VQGAN`` logs, healthy on every rank but ``rank``, whose batches then
    reconstruct below their own mean image."""

    priority = 'NORMAL'  # before TokenizerCollapseHook (LOW) reads the outputs

    def __init__(self, rank: int) -> None:
        self.rank = rank

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        collapsed = runner.rank == self.rank
        outputs.update(perplexity=torch.tensor(10. + runner.iter),
                       psnr=torch.tensor(5. if collapsed else 20.),
                       psnr_mean_image=torch.tensor(12.))


@HOOKS.register_module(force=True)
class RaiseOnRankHook(Hook):
    """Raises an ordinary exception on rank ``rank`` alone, after iteration ``iter``."""

    def __init__(self, rank: int, iter: int) -> None:
        self.rank = rank
        self.iter = iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.rank == self.rank and runner.iter + 1 == self.iter:
            raise RuntimeError(f'probe failure on rank {self.rank} at iteration {self.iter}')


@HOOKS.register_module(force=True)
class HashCheckpointsHook(Hook):
    """Writes the SHA-256 of every ``*.pth`` in the work dir after each epoch's saving."""

    priority = 'LOWEST'

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file

    def after_train_epoch(self, runner) -> None:
        hashes = {
            name: hashlib.sha256(open(osp.join(runner.work_dir, name), 'rb').read()).hexdigest()
            for name in os.listdir(runner.work_dir) if name.endswith('.pth')
        }
        with open(self.out_file, 'w') as f:
            json.dump(hashes, f)


@HOOKS.register_module(force=True)
class RecordDeterminismHook(Hook):
    """Writes, when training starts, whether deterministic kernels are on and the cuBLAS and
    cuDNN settings they need."""

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file

    def before_train(self, runner) -> None:
        with open(self.out_file, 'w') as f:
            json.dump(dict(algorithms=torch.are_deterministic_algorithms_enabled(),
                           cublas=os.environ.get('CUBLAS_WORKSPACE_CONFIG'),
                           cudnn_deterministic=torch.backends.cudnn.deterministic,
                           cudnn_benchmark=torch.backends.cudnn.benchmark), f)


@HOOKS.register_module(force=True)
class InjectNaNLossHook(Hook):
    """Multiplies the loss of iteration ``at_iter`` (1-based) by NaN."""

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if runner.iter + 1 != self.at_iter:
            model.__dict__.pop('loss', None)
            return
        clean_loss = type(model).loss

        def nan_loss(inputs, data_samples=None, **kwargs):
            losses = clean_loss(model, inputs, data_samples, **kwargs)
            losses['loss'] = losses['loss'] * float('nan')
            return losses

        model.loss = nan_loss


REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMOKE_CONFIG = osp.join(REPO, 'configs', 'addp', 'smoke_tiny.py')
IMPORTS = ['pretrain_probes']


def write_config(path: str, body: str = '', base: str = SMOKE_CONFIG) -> str:
    """Writes a config that inherits ``base`` (the smoke run), imports these hooks, and adds
    ``body``."""
    with open(path, 'w') as f:
        f.write(f'_base_ = [{base!r}]\n'
                f'custom_imports = dict(imports={IMPORTS!r}, allow_failed_imports=False)\n'
                + body)
    return path


def run_train(cwd: str, config: str, *args: str, launcher: Optional[List[str]] = None,
              timeout: int = 120, tool: str = 'train.py') -> subprocess.CompletedProcess:
    """Runs ``tools/<tool>`` (or ``launcher`` + its arguments) in ``cwd``, single-threaded, in
    a process group of its own."""
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([osp.join(REPO, 'tests'), REPO,
                                           os.environ.get('PYTHONPATH', '')]))
    command = launcher or [sys.executable, osp.join(REPO, 'tools', tool)]
    return subprocess.run([*command, config, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, start_new_session=True)
