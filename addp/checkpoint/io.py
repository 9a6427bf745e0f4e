"""Reading checkpoint files under torch's ``weights_only`` default.

Since torch 2.6, ``torch.load`` refuses any object that is not a tensor or a plain container
unless its type is allow-listed. MMEngine checkpoints carry ``HistoryBuffer`` objects and numpy
arrays in their message hub, and the official ADDP/MAGE files carry an ``argparse.Namespace``.
Allow-listing exactly those types keeps ``--resume``, ``load_from`` and ``init_cfg``
``Pretrained`` working without turning the unpickling safeguard off.

MMEngine also pickles ``HistoryBuffer``'s statistics functions, which only ``getattr`` could
rebuild, and allow-listing ``getattr`` would open the door the safeguard closes. Those functions
are class attributes that every process registers again at import, so buffers are saved without
them.

Nothing here runs at import: :func:`read_checkpoint` sets this up on its first call, and the
tools that run MMEngine's runner (which saves and loads on its own) call
:func:`allow_mmengine_checkpoint_globals` before building it.
"""
import argparse
import os
import zipfile
from typing import Any

import numpy as np
import torch

from addp.errors import InputNotFoundError, UnreadableInputError


def _numpy_globals() -> list:
    allowed = [np.ndarray, np.dtype]
    core = getattr(np, '_core', None) or np.core
    allowed.append(core.multiarray._reconstruct)
    allowed.append(core.multiarray.scalar)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return allowed


def _history_buffer_state(buffer) -> dict:
    """``HistoryBuffer`` state without the class-level statistics functions."""
    return {k: v for k, v in buffer.__dict__.items() if k != 'statistics_methods'}


def allow_mmengine_checkpoint_globals() -> None:
    """Allow-lists the non-tensor types that MMEngine and the official checkpoints contain, and
    makes MMEngine save ``HistoryBuffer`` without its functions. Safe to call again."""
    from mmengine.logging import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_state
    torch.serialization.add_safe_globals([HistoryBuffer, argparse.Namespace] + _numpy_globals())


def read_checkpoint(path: str, mmap: bool = False) -> Any:
    """Loads a checkpoint file onto the CPU with a clear error for missing or broken files.

    Args:
        path (str): A local file.
        mmap (bool): Map tensors lazily from the file, for reading a few shapes of a large
            checkpoint; files of the legacy format are read whole.

    Returns:
        The unpickled object, usually a dict.
    """
    allow_mmengine_checkpoint_globals()
    if not os.path.isfile(path):
        raise InputNotFoundError(
            f'checkpoint file not found: {path!r}. Check the path in the config (or pass it '
            'with --cfg-options) and download the file if it is missing.')
    try:
        if mmap and zipfile.is_zipfile(path):
            return torch.load(path, map_location='cpu', mmap=True)
        return torch.load(path, map_location='cpu')
    except Exception as err:  # torch raises RuntimeError, EOFError or UnpicklingError
        raise UnreadableInputError(
            f'could not read checkpoint {path!r} ({type(err).__name__}: {err}). The file is '
            'truncated, corrupt or not a PyTorch checkpoint; download or save it again.') from err
