"""A folder of images, checked file by file before training starts.

The check is made to scale to ImageNet (1.28 M files): by default it reads each file's header
and structure instead of decoding it, one rank checks while the others wait for its verdict,
worker processes share the files, and verdicts are cached by path, size and modification time
so that a resume or a second run rechecks only what changed.
"""
import os
import os.path as osp
import pickle
import time
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.dist import broadcast_object_list, get_rank, get_world_size, is_distributed
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.logging import print_log
from mmpretrain.datasets import CustomDataset

from addp.errors import InputNotFoundError, InvalidInputError
from addp.registry import DATASETS

from .holdout import in_holdout, parse_holdout
from .image_checks import available_cpus, check_files, check_mode, stat_files
from .image_loading import readable_extensions
from .verdict_cache import VerdictCache, cache_file_for

BAD_FILE_POLICIES = ('error', 'skip')
# Bad files named in full in a message; the rest are counted.
MAX_LISTED = 10


def is_hidden(relative_path: str) -> bool:
    """Whether any part of a path is hidden (``.DS_Store``, macOS ``._x.jpg``, ``.git/``)."""
    return any(part.startswith('.') for part in relative_path.replace('\\', '/').split('/'))


def describe_files(problems: List[Tuple[str, str]], root: str) -> str:
    """``a.png (why), b.txt (why), ... and N more``, with paths relative to ``root``."""
    shown = [f'{osp.relpath(path, root)} ({why})' for path, why in problems[:MAX_LISTED]]
    more = len(problems) - MAX_LISTED
    return ', '.join(shown) + (f' and {more} more' if more > 0 else '')


def _picklable(err: BaseException) -> BaseException:
    """``err`` if it survives a pickle round trip, else a RuntimeError with its message."""
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:
        return RuntimeError(f'{type(err).__name__}: {err}')


@DATASETS.register_module()
class CheckedCustomDataset(CustomDataset):
    """mmpretrain's ``CustomDataset``, with every file checked before training starts.

    Laid out and configured exactly as ``CustomDataset`` (class subfolders, a flat folder or an
    annotation file). In addition:

    - hidden files and folders (``.DS_Store``, macOS ``._x.jpg``, ``.ipynb_checkpoints``) are
      ignored, and are never taken for a class;
    - every format Pillow opens is used (see :class:`LoadAnyImageFromFile`), and any other
      file in the folder is named as unsupported rather than skipped without a word;
    - every image is checked once (see ``check_images``); an unreadable file is named;
    - an empty folder is an error that says where it looked;
    - ``holdout`` keeps a fixed part of the folder, to validate on part of the train images.

    Under torch.distributed, rank 0 alone checks the files and sends the verdict (or its
    error) to the other ranks, which wait for it: every rank must build the dataset, as
    MMEngine's runner does. Every rank then leaves out, or stops on, the same files.

    Args:
        bad_files (str): ``'error'`` stops with one line that lists the unreadable and
            unsupported files; ``'skip'`` leaves them out with a warning that lists them.
        check_images (bool | str): ``'header'`` (or True): Pillow identifies each file and
            checks its structure without decoding it (see :func:`header_problem`: every
            non-image, PNG damage and a JPEG cut short are caught; about 0.1 ms per file).
            ``'decode'``: every image is decoded (about 2 ms per ImageNet-size JPEG).
            False: only file names are looked at.
        check_cache (bool | str, optional): Where verdicts are kept by relative path, size
            and modification time, so that a rerun rechecks only changed files. True: a
            file per folder under ``${XDG_CACHE_HOME:-~/.cache}/addp/folder_checks``; a path
            ending in ``.json``: that file; another path: a folder for those files; None or
            False: no cache.
        num_workers (int): Processes that share the check (forked; threads where the
            platform does not fork), capped at the CPUs available.
        holdout (dict, optional): ``dict(fraction=0.1, seed=0, part='val')`` keeps the
            held-out part of the listed images, ``part='train'`` the rest. A hash of the seed
            and the path relative to the image folder (the path as an annotation file lists
            it) decides, so a file is in the same part for every dataset with the same
            fraction and seed. ``seed`` defaults to 0; ``fraction`` and ``part`` are
            required. Only the kept part is checked.
        **kwargs: ``CustomDataset``'s arguments; ``extensions`` defaults to what Pillow reads.
    """

    def __init__(self, *args, bad_files: str = 'error',
                 check_images: Union[bool, str] = 'header',
                 check_cache: Union[bool, str, None] = True, num_workers: int = 8,
                 holdout: Optional[dict] = None, **kwargs) -> None:
        if bad_files not in BAD_FILE_POLICIES:
            raise InvalidInputError(f'bad_files must be one of {BAD_FILE_POLICIES}, got '
                                    f'{bad_files!r}')
        if not (check_cache is None or isinstance(check_cache, (bool, str, os.PathLike))):
            raise InvalidInputError(f'check_cache must be True, False, None or a path, got '
                                    f'{check_cache!r}')
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) \
                or num_workers < 1:
            raise InvalidInputError(f'num_workers must be a positive integer, got '
                                    f'{num_workers!r}')
        self.bad_files = bad_files
        self.check_images = check_mode(check_images)
        self.check_cache = check_cache
        self.num_workers = num_workers
        self.holdout = parse_holdout(holdout)
        self._unsupported: List[Tuple[str, str]] = []
        # What the last check did (checked, cached, seconds, workers, cache_file), for logs
        # and benchmarks; None before a check.
        self.check_summary: Optional[dict] = None
        kwargs.setdefault('extensions', readable_extensions())
        super().__init__(*args, **kwargs)

    def is_valid_file(self, filename: str) -> bool:
        return not is_hidden(filename) and super().is_valid_file(filename)

    def _find_samples(self) -> list:
        if not self._is_local():
            return super()._find_samples()
        if not osp.isdir(self.img_prefix):
            raise InputNotFoundError(f'image folder not found: {self.folder!r}; set '
                                    'data_root and data_prefix of the dataset to your images')
        if self.with_label:
            classes = sorted(entry.name for entry in os.scandir(self.img_prefix)
                             if entry.is_dir() and not is_hidden(entry.name))
            if self.CLASSES is not None and len(self.CLASSES) != len(classes):
                raise InvalidInputError(
                    f'{self.img_prefix} has {len(classes)} class subfolders but the config '
                    f'names {len(self.CLASSES)} classes; make them agree')
            self.folder_to_idx = {name: i for i, name in enumerate(classes)}
            if self.CLASSES is None:
                self._metainfo['classes'] = tuple(classes)
            samples = [(path, self.folder_to_idx[name]) for name in classes
                       for path in self._scan(osp.join(self.img_prefix, name), name)]
            empty = sorted(set(classes) - {classes[label] for _, label in samples})
            if empty and samples:
                print_log(f'class folders without images: {", ".join(empty[:MAX_LISTED])}',
                          'current', level=30)
        else:
            samples = self._scan(self.img_prefix, '')
        if not samples:
            found = f'; it holds {describe_files(self._unsupported, self.folder)}' \
                if self._unsupported else ''
            raise InvalidInputError(
                f'no images in {self.folder!r}{found}. Readable formats: '
                f'{", ".join(readable_extensions()[:12])} ...; hidden files are ignored. Put '
                'images there, or point data_root and data_prefix at them.')
        return samples

    def _scan(self, folder: str, prefix: str) -> List[str]:
        """Sorted relative paths of the images under ``folder``, not descending into hidden
        folders; other visible files are recorded as unsupported."""
        found = []
        for current, dirs, files in os.walk(folder, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
            # One relative path per folder, not per file: ImageNet has 1.28 M files.
            subfolder = osp.relpath(current, folder)
            base = prefix if subfolder == '.' else osp.join(prefix, subfolder)
            start = base + os.sep if base else ''
            for name in sorted(files):
                if name.startswith('.'):
                    continue
                if super().is_valid_file(name):
                    found.append(start + name)
                else:
                    extension = osp.splitext(name)[1] or 'no extension'
                    self._unsupported.append((osp.join(current, name),
                                              f'unsupported format: {extension}'))
        return found

    def _is_local(self) -> bool:
        return isinstance(get_file_backend(self.img_prefix, enable_singleton=True),
                          LocalBackend)

    @property
    def folder(self) -> str:
        """The image folder, as messages name it."""
        return osp.normpath(self.img_prefix)

    def relative_paths(self, paths: Sequence[str]) -> List[str]:
        """``paths`` relative to the image folder, with ``/`` separators: each path as the
        folder listing or the annotation file gives it."""
        prefix = self.img_prefix.rstrip('/\\')
        cut = len(prefix) + 1
        if not prefix:
            return [path.replace('\\', '/') for path in paths]
        return [(path[cut:] if len(path) > cut and path.startswith(prefix)
                 and path[cut - 1] in '/\\' else path).replace('\\', '/') for path in paths]

    def _apply_holdout(self, data_list: List[dict]) -> List[dict]:
        fraction, seed, part = self.holdout
        keep_held_out = part == 'val'

        def kept(paths: List[str]) -> List[bool]:
            return [in_holdout(relative, fraction, seed) == keep_held_out
                    for relative in self.relative_paths(paths)]

        self._unsupported = [problem for problem, keep in zip(
            self._unsupported, kept([path for path, _ in self._unsupported])) if keep]
        kept_list = [info for info, keep in zip(
            data_list, kept([info['img_path'] for info in data_list])) if keep]
        if not kept_list:
            raise InvalidInputError(
                f"the holdout part {part!r} of {self.folder!r} is empty: none of its "
                f'{len(data_list)} images falls in it with fraction {fraction:g} and seed '
                f'{seed}; raise holdout fraction towards 0.5, or add images')
        return kept_list

    def _check(self, paths: List[str]) -> dict:
        """This rank's check of ``paths``, through the cache: the problems found and counts
        for the log."""
        start = time.perf_counter()
        cache = VerdictCache(cache_file_for(self.img_prefix, self.check_cache),
                             self.img_prefix, self.check_images)
        num_workers = min(self.num_workers, available_cpus())
        states = stat_files(paths, self.num_workers)
        problems: List[Tuple[str, str]] = []
        unknown: List[int] = []
        relatives = self.relative_paths(paths)
        for index, (relative, state) in enumerate(zip(relatives, states)):
            if isinstance(state, str):
                problems.append((paths[index], state))
                continue
            reason = cache.get(relative, state)
            if reason is False:
                unknown.append(index)
            elif reason is not None:
                problems.append((paths[index], reason))
        reasons = check_files([paths[i] for i in unknown], self.check_images, num_workers)
        for index, reason in zip(unknown, reasons):
            cache.put(relatives[index], states[index], reason)
            if reason is not None:
                problems.append((paths[index], reason))
        cache.save()
        problems.sort()
        return dict(problems=problems, checked=len(unknown), cached=len(paths) - len(unknown),
                    seconds=time.perf_counter() - start, workers=num_workers,
                    cache_file=cache.path)

    def _agreed_check(self, paths: List[str]) -> dict:
        """:meth:`_check` on rank 0, its result (or its error) sent to every rank."""
        if not is_distributed() or get_world_size() <= 1:
            return self._check(paths)
        message: List[object] = [None]
        error = None
        if get_rank() == 0:
            try:
                message[0] = self._check(paths)
            except Exception as err:
                # The other ranks wait on the broadcast: they must receive the failure too.
                error = err
                message[0] = _picklable(err)
        broadcast_object_list(message, src=0)
        if error is not None:
            raise error
        if isinstance(message[0], BaseException):
            raise message[0]
        return message[0]

    def load_data_list(self) -> List[dict]:
        self._unsupported = []
        data_list = super().load_data_list()
        if self.holdout is not None:
            data_list = self._apply_holdout(data_list)
        problems = list(self._unsupported)
        if self.check_images and not self._is_local():
            print_log(f'the files of {self.img_prefix} are not checked: the check reads '
                      'local folders only', 'current', level=30)
        elif self.check_images:
            verdict = self._agreed_check([info['img_path'] for info in data_list])
            cache_note = (f'{verdict["cached"]} verdicts from {verdict["cache_file"]}'
                          if verdict['cache_file'] else 'no cache')
            print_log(f'checked {verdict["checked"]} of {len(data_list)} images in '
                      f'{self.folder} ({self.check_images} check, {verdict["workers"]} '
                      f'workers; {cache_note}) in {verdict["seconds"]:.1f} s', 'current')
            self.check_summary = {key: value for key, value in verdict.items()
                                  if key != 'problems'}
            unusable = dict(verdict['problems'])
            problems += verdict['problems']
            data_list = [info for info in data_list if info['img_path'] not in unusable]
        if problems:
            listed = describe_files(problems, self.folder)
            if self.bad_files == 'error':
                raise InvalidInputError(
                    f'{len(problems)} files in {self.folder} cannot be used: {listed}. '
                    "Remove or convert them, or set the dataset's bad_files='skip' to train "
                    'without them.')
            print_log(f'left out {len(problems)} files of {self.folder} that cannot be '
                      f'used: {listed}', 'current', level=30)
        if not data_list:
            raise InvalidInputError(f'no usable images in {self.folder!r}')
        return data_list
