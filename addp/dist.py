"""Joining and leaving the process group of a launch, on GPUs and on CPU-only machines alike."""
import contextlib
import gc
import signal
import sys
from datetime import timedelta
from typing import Iterator

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import init_dist

from addp.errors import InvalidInputError


def init_launcher_dist(launcher: str, backend: str = 'nccl', timeout: int = 1800,
                       **kwargs) -> bool:
    """Starts the process group of an MMEngine launch (``torchrun``, slurm or MPI).

    With CUDA this is MMEngine's ``init_dist``. Without CUDA, ``--launcher pytorch`` joins over
    gloo, which ``init_dist`` cannot do because it selects a CUDA device first.

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        backend (str): The GPU backend (``env_cfg.dist_cfg.backend``).
        timeout (int): Seconds a collective may wait.
        **kwargs: Other ``env_cfg.dist_cfg`` entries for ``init_dist``.

    Returns:
        bool: Whether the process runs distributed on CPUs (models then need DDP without a
        device).

    Raises:
        InvalidInputError: For slurm or MPI launches without CUDA.
    """
    if launcher == 'none' or torch_dist.is_initialized():
        return False
    if torch.cuda.is_available():
        init_dist(launcher, backend=backend, timeout=timeout, **kwargs)
        return False
    if launcher != 'pytorch':
        raise InvalidInputError(f'--launcher {launcher} needs GPUs; on CPUs use torchrun '
                                '(--launcher pytorch)')
    torch_dist.init_process_group(backend='gloo', timeout=timedelta(seconds=timeout))
    return True


def wrap_model_for_cpus(cfg: Config) -> None:
    """Sets DDP without a device as the model wrapper of a config launched on CPUs (MMEngine's
    default wrapper selects a CUDA device), unless the config names its own."""
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))


def destroy_launcher_dist(synchronize: bool = True) -> None:
    """Leaves the process group, if any, while the interpreter is fully alive.

    Objects that still hold the group (a DDP reducer, a runner) are collected first, so that
    its worker threads are joined now rather than during interpreter shutdown, where tearing
    them down aborts the process. With ``synchronize``, ranks first wait for each other, so
    that none closes its connections while another is still in a collective.

    Args:
        synchronize (bool): Pass a barrier first. Only on paths every rank takes: after an
            error on one rank the others may never reach it.
    """
    if not torch_dist.is_initialized():
        return
    gc.collect()
    if synchronize:
        torch_dist.barrier()
    torch_dist.destroy_process_group()
    gc.collect()


def _raise_system_exit(signum: int, frame) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def launcher_dist(launcher: str, **dist_cfg) -> Iterator[bool]:
    """Joins the launch's process group for the block and always leaves it.

    Every exit leaves the group: success (after a barrier), an error, Ctrl-C, and SIGTERM
    (which torchrun sends the other ranks when one fails, and slurm on preemption), turned
    into ``SystemExit`` so that the block unwinds.

    Args:
        launcher (str): As :func:`init_launcher_dist` takes it.
        **dist_cfg: ``env_cfg.dist_cfg`` entries.

    Yields:
        bool: Whether the process runs distributed on CPUs.
    """
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _raise_system_exit)
    try:
        on_cpus = init_launcher_dist(launcher, **dist_cfg)
        try:
            yield on_cpus
        except BaseException:
            destroy_launcher_dist(synchronize=False)
            raise
        destroy_launcher_dist(synchronize=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.stdout.flush()
