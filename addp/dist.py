"""Joining the process group of a launch, on GPUs and on CPU-only machines alike."""
from datetime import timedelta

import torch
import torch.distributed as torch_dist
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


def destroy_launcher_dist() -> None:
    """Leaves the process group, if any, before the interpreter exits: a gloo group torn down
    during interpreter shutdown can abort the process instead."""
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()
