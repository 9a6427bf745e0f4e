"""Per-file checks of an image folder, spread over worker processes.

``'header'`` reads each file's header and structure (Pillow's ``verify``) instead of decoding
it; ``'decode'`` decodes every image, as training will.
"""
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from typing import BinaryIO, Callable, List, Optional, Sequence, Tuple, Union

from PIL import Image, UnidentifiedImageError

from addp.errors import InvalidInputError

from .image_loading import read_image

CHECK_MODES = ('header', 'decode')
# Files per task of the check (about 20 ms of header checks) and of the size lookups.
CHECK_CHUNK = 256
STAT_CHUNK = 2048
# The last two bytes of every complete JPEG file (the end-of-image marker).
JPEG_END = b'\xff\xd9'
JPEG_FORMATS = ('JPEG', 'MPO')
# Formats tried first: once every Pillow plugin is registered (readable_extensions), Pillow
# tries several formats that have no signature check before JPEG, which doubles its cost.
COMMON_FORMATS = ('JPEG', 'PNG')
# A file's size and modification time in ns, or why it could not be looked at.
FileState = Union[Tuple[int, int], str]


def first_line(err: BaseException) -> str:
    return str(err).split('\n')[0] or type(err).__name__


def _error_reason(err: BaseException) -> str:
    if isinstance(err, UnidentifiedImageError):
        return 'not an image Pillow can identify'
    if 'Truncated File Read' in str(err):
        return 'image file is truncated (cut short in its header)'
    return first_line(err)


def decode_problem(path: str) -> Optional[str]:
    """Why the image at ``path`` cannot be used, found by decoding it fully; None if it can.

    Reads the image as the training pipeline does (:func:`read_image`), so that whatever
    Pillow notices in decoding (pixel data cut short or corrupt) is caught, in every format.
    About 2 ms for an ImageNet-size JPEG.
    """
    try:
        with open(path, 'rb') as file:
            read_image(file.read())
    except Exception as err:  # Pillow raises OSError, ValueError, SyntaxError or others
        return _error_reason(err)
    return None


def _open_image(file: BinaryIO) -> Image.Image:
    try:
        return Image.open(file, formats=COMMON_FORMATS)
    except UnidentifiedImageError:
        return Image.open(file)


def header_problem(path: str) -> Optional[str]:
    """Why the image at ``path`` cannot be used, found without decoding it; None if it can.

    Catches files Pillow cannot identify (not images, or headers cut short) in every format,
    and a truncated or corrupt PNG (its chunk checksums are verified to the end). A JPEG
    that does not end with its end-of-image marker (cut short in its compressed data, or
    followed by extra bytes) is decoded to tell which. Other formats are checked up to their
    header only: pixel data cut short in a GIF, TIFF, WebP or BMP is caught by
    ``check_images='decode'`` alone. About 0.1 ms for an ImageNet-size JPEG.
    """
    try:
        with open(path, 'rb') as file:
            with _open_image(file) as image:
                image_format = image.format
                try:
                    image.verify()
                except Exception as err:
                    if 'truncated' in str(err).lower():
                        return 'image file is truncated (cut short after its header)'
                    return f'image file is corrupt ({first_line(err)})'
            if image_format in JPEG_FORMATS:
                file.seek(-len(JPEG_END), os.SEEK_END)
                if file.read(len(JPEG_END)) != JPEG_END:
                    with _open_image(file) as image:
                        image.load()
    except Exception as err:  # Pillow raises OSError, ValueError, SyntaxError or others
        return _error_reason(err)
    return None


def _check_chunk(mode: str, paths: Sequence[str]) -> List[Optional[str]]:
    # Looked up at call time, so that a replaced check function is the one used.
    check = decode_problem if mode == 'decode' else header_problem
    return [check(path) for path in paths]


def _stat_chunk(paths: Sequence[str]) -> List[FileState]:
    states: List[FileState] = []
    for path in paths:
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            states.append('file not found')
        except OSError as err:
            states.append(first_line(err))
        else:
            states.append((stat.st_size, stat.st_mtime_ns))
    return states


def available_cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _map_chunks(function: Callable[[Sequence[str]], list], items: Sequence[str],
                chunk_size: int, executor_factory: Optional[Callable[[], Executor]]) -> list:
    chunks = [items[i:i + chunk_size] for i in range(0, len(items), chunk_size)]
    if executor_factory is None or len(chunks) < 2:
        return [result for chunk in chunks for result in function(chunk)]
    with executor_factory() as executor:
        return [result for part in executor.map(function, chunks) for result in part]


def check_files(paths: Sequence[str], mode: str = 'header',
                num_workers: int = 8) -> List[Optional[str]]:
    """Why each file cannot be used (None where it can), checked in parallel.

    Header checks run Pillow's Python code, which holds the interpreter lock, so the files are
    shared among forked worker processes where the platform forks, threads elsewhere. Fewer
    than two chunks of files are checked in this process.

    Args:
        paths (Sequence[str]): Local image files.
        mode (str): ``'header'`` (:func:`header_problem`) or ``'decode'``
            (:func:`decode_problem`).
        num_workers (int): Worker processes at most; capped at the CPUs available.
    """
    num_workers = min(num_workers, available_cpus())
    factory = None
    if num_workers > 1:
        if 'fork' in multiprocessing.get_all_start_methods():
            factory = partial(ProcessPoolExecutor, num_workers,
                              mp_context=multiprocessing.get_context('fork'))
        else:
            factory = partial(ThreadPoolExecutor, num_workers)
    return _map_chunks(partial(_check_chunk, mode), list(paths), CHECK_CHUNK, factory)


def stat_files(paths: Sequence[str], num_threads: int = 8) -> List[FileState]:
    """Size and modification time (ns) of each file, or why it could not be looked at.

    Threads overlap the waits of a network file system; ``os.stat`` releases the interpreter
    lock.
    """
    factory = partial(ThreadPoolExecutor, num_threads) if num_threads > 1 else None
    return _map_chunks(_stat_chunk, list(paths), STAT_CHUNK, factory)


def check_mode(check_images: Union[bool, str, None]) -> Optional[str]:
    """The check a ``check_images`` value asks for: ``'header'``, ``'decode'`` or None.

    Raises:
        InvalidInputError: Any other value.
    """
    if check_images is True:
        return 'header'
    if check_images is False or check_images is None:
        return None
    if check_images in CHECK_MODES:
        return check_images
    raise InvalidInputError(f"check_images must be 'header', 'decode' or False (True means "
                            f"'header'), got {check_images!r}")
