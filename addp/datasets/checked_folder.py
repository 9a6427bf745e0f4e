"""A folder of images, checked file by file before training starts."""
import os
import os.path as osp
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.logging import print_log
from mmpretrain.datasets import CustomDataset
from PIL import UnidentifiedImageError

from addp.errors import InputNotFoundError, InvalidInputError
from addp.registry import DATASETS

from .image_loading import read_image, readable_extensions

BAD_FILE_POLICIES = ('error', 'skip')
# Bad files named in full in a message; the rest are counted.
MAX_LISTED = 10


def is_hidden(relative_path: str) -> bool:
    """Whether any part of a path is hidden (``.DS_Store``, macOS ``._x.jpg``, ``.git/``)."""
    return any(part.startswith('.') for part in relative_path.replace('\\', '/').split('/'))


def _unreadable_reason(path: str) -> Optional[str]:
    try:
        with open(path, 'rb') as file:
            read_image(file.read())
    except Exception as err:  # Pillow raises OSError, ValueError, SyntaxError or others
        if isinstance(err, UnidentifiedImageError):
            return 'not an image Pillow can identify'
        return str(err).split('\n')[0] or type(err).__name__
    return None


def describe_files(problems: List[Tuple[str, str]], root: str) -> str:
    """``a.png (why), b.txt (why), ... and N more``, with paths relative to ``root``."""
    shown = [f'{osp.relpath(path, root)} ({why})' for path, why in problems[:MAX_LISTED]]
    more = len(problems) - MAX_LISTED
    return ', '.join(shown) + (f' and {more} more' if more > 0 else '')


@DATASETS.register_module()
class CheckedCustomDataset(CustomDataset):
    """mmpretrain's ``CustomDataset``, with every file checked before training starts.

    Laid out and configured exactly as ``CustomDataset`` (class subfolders, a flat folder or an
    annotation file). In addition:

    - hidden files and folders (``.DS_Store``, macOS ``._x.jpg``, ``.ipynb_checkpoints``) are
      ignored, and are never taken for a class;
    - every format Pillow opens is used (see :class:`LoadAnyImageFromFile`), and any other
      file in the folder is named as unsupported rather than skipped without a word;
    - every image is decoded once; a truncated or unreadable file is named;
    - an empty folder is an error that says where it looked.

    Args:
        bad_files (str): ``'error'`` stops with one line that lists the unreadable and
            unsupported files; ``'skip'`` leaves them out with a warning that lists them.
        check_images (bool): Decode every image once (threads; about 1 ms per small image).
            False only looks at file names.
        num_threads (int): Decoding threads of the check.
        **kwargs: ``CustomDataset``'s arguments; ``extensions`` defaults to what Pillow reads.
    """

    def __init__(self, *args, bad_files: str = 'error', check_images: bool = True,
                 num_threads: int = 8, **kwargs) -> None:
        if bad_files not in BAD_FILE_POLICIES:
            raise InvalidInputError(f'bad_files must be one of {BAD_FILE_POLICIES}, got '
                                    f'{bad_files!r}')
        self.bad_files = bad_files
        self.check_images = check_images
        self.num_threads = num_threads
        self._unsupported: List[Tuple[str, str]] = []
        kwargs.setdefault('extensions', readable_extensions())
        super().__init__(*args, **kwargs)

    def is_valid_file(self, filename: str) -> bool:
        return not is_hidden(filename) and super().is_valid_file(filename)

    def _find_samples(self) -> list:
        if not isinstance(get_file_backend(self.img_prefix, enable_singleton=True),
                          LocalBackend):
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
            for name in sorted(files):
                if name.startswith('.'):
                    continue
                path = osp.join(current, name)
                relative = osp.join(prefix, osp.relpath(path, folder))
                if super().is_valid_file(name):
                    found.append(relative)
                else:
                    extension = osp.splitext(name)[1] or 'no extension'
                    self._unsupported.append((path, f'unsupported format: {extension}'))
        return found

    @property
    def folder(self) -> str:
        """The image folder, as messages name it."""
        return osp.normpath(self.img_prefix)

    def load_data_list(self) -> List[dict]:
        self._unsupported = []
        data_list = super().load_data_list()
        problems = list(self._unsupported)
        if self.check_images and data_list:
            start = time.perf_counter()
            with ThreadPoolExecutor(self.num_threads) as pool:
                reasons = list(pool.map(_unreadable_reason, [d['img_path'] for d in data_list]))
            print_log(f'checked {len(data_list)} images in {self.folder} in '
                      f'{time.perf_counter() - start:.1f} s', 'current')
            unreadable = {d['img_path']: r for d, r in zip(data_list, reasons) if r}
            problems += sorted(unreadable.items())
            data_list = [d for d in data_list if d['img_path'] not in unreadable]
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
