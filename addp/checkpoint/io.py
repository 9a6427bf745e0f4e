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
:func:`allow_mmengine_checkpoint_globals` before building it. That call also routes MMEngine's
reads of local files (``--resume``, ``load_from``, ``init_cfg`` ``Pretrained``) through
:func:`read_checkpoint`, so that a broken file ends in one line that says what is wrong.
"""
import argparse
import os
import pickle
import re
import zipfile
from typing import Any, Callable, Optional, Union

import numpy as np
import torch

from addp.errors import InputNotFoundError, UnreadableInputError

MapLocation = Union[str, torch.device, Callable, None]
# The first bytes of torch's zip format and of the legacy pickle format (protocol >= 2).
ZIP_MAGIC = b'PK\x03\x04'
PICKLE_MAGIC = b'\x80'


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


def _load_local(filename: str, map_location: MapLocation = None) -> Any:
    """MMEngine's loader of local files, with :func:`read_checkpoint`'s errors."""
    return read_checkpoint(os.path.expanduser(filename), map_location=map_location)


def allow_mmengine_checkpoint_globals() -> None:
    """Allow-lists the non-tensor types that MMEngine and the official checkpoints contain,
    makes MMEngine save ``HistoryBuffer`` without its functions, and makes MMEngine read local
    checkpoint files with :func:`read_checkpoint`. Safe to call again."""
    from mmengine.logging import HistoryBuffer
    from mmengine.runner import CheckpointLoader
    HistoryBuffer.__getstate__ = _history_buffer_state
    torch.serialization.add_safe_globals([HistoryBuffer, argparse.Namespace] + _numpy_globals())
    CheckpointLoader.register_scheme(prefixes='', force=True)(_load_local)


def _first_line(err: BaseException) -> str:
    return f'{type(err).__name__}: {str(err).strip().splitlines()[0][:160]}' if str(err).strip() \
        else type(err).__name__


def describe_load_failure(path: str, err: BaseException) -> str:
    """What is wrong with a checkpoint file that ``torch.load`` refused, and the fix.

    Returns:
        str: One sentence: ``not a PyTorch checkpoint``, ``truncated``, ``corrupt`` or
        ``unpickling refused``, then what to do.
    """
    size = os.path.getsize(path)
    with open(path, 'rb') as file:
        head = file.read(len(ZIP_MAGIC))
    looks_like_checkpoint = head == ZIP_MAGIC or head.startswith(PICKLE_MAGIC)
    if (looks_like_checkpoint and isinstance(err, pickle.UnpicklingError)
            and 'Unsupported global' in str(err)):
        found = re.search(r'GLOBAL ([\w.]+)', str(err))
        what = found.group(1) if found else 'an object that is not a tensor'
        return (f'unpickling refused: it holds {what}, which a checkpoint of weights does not '
                'hold and this reader does not run. If you trust the file, load it once in '
                'your own Python session and save only its state dict')
    fix = 'download or save it again'
    if size == 0:
        return f'truncated: the file is empty; {fix}'
    if head == ZIP_MAGIC:
        if not zipfile.is_zipfile(path):
            return f'truncated: the archive ends after {size} bytes, before its index; {fix}'
        return f'corrupt: a damaged archive ({_first_line(err)}); {fix}'
    if head.startswith(PICKLE_MAGIC):
        if isinstance(err, EOFError) or 'truncated' in str(err) or 'EOF' in str(err):
            return f'truncated: the legacy-format file ends after {size} bytes; {fix}'
        return f'corrupt: a damaged legacy-format file ({_first_line(err)}); {fix}'
    return ('not a PyTorch checkpoint: it starts with neither a zip archive nor a pickle; '
            'check the path')


def read_checkpoint(path: str, mmap: bool = False,
                    map_location: Optional[MapLocation] = 'cpu') -> Any:
    """Loads a checkpoint file with a clear, one-line error for missing or broken files.

    Args:
        path (str): A local file.
        mmap (bool): Map tensors lazily from the file, for reading a few shapes of a large
            checkpoint; files of the legacy format are read whole.
        map_location (str | torch.device | Callable, optional): As ``torch.load`` takes it.
            Defaults to the CPU.

    Returns:
        The unpickled object, usually a dict.

    Raises:
        InputNotFoundError: No such file.
        UnreadableInputError: The file is there but is not a readable checkpoint.
    """
    allow_mmengine_checkpoint_globals()
    if not os.path.isfile(path):
        raise InputNotFoundError(
            f'checkpoint file not found: {path!r}. Check the path in the config (or pass it '
            'with --cfg-options) and download the file if it is missing.')
    try:
        if mmap and zipfile.is_zipfile(path):
            return torch.load(path, map_location=map_location, mmap=True)
        return torch.load(path, map_location=map_location)
    except Exception as err:  # torch raises RuntimeError, EOFError or UnpicklingError
        # from None: torch's own message advises weights_only=False, which is wrong here.
        raise UnreadableInputError(
            f'could not read checkpoint {path!r}: {describe_load_failure(path, err)}.') from None
