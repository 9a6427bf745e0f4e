"""Verdicts of an image folder's checks, kept by path, size and modification time, so that a
resume or a second run rechecks only the files that changed."""
import hashlib
import json
import os
import os.path as osp
import tempfile
from typing import Dict, Optional, Tuple, Union

import PIL
from mmengine.logging import print_log

from .image_checks import first_line

# Bump when what a cached verdict means changes; older cache files are then ignored.
CACHE_FORMAT = 1


def default_cache_dir() -> str:
    """``${XDG_CACHE_HOME:-~/.cache}/addp/folder_checks``."""
    root = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
    return osp.join(root, 'addp', 'folder_checks')


def cache_file_for(folder: str, check_cache: Union[bool, str, None]) -> Optional[str]:
    """Where the verdicts on ``folder``'s files are kept: None when the cache is off.

    ``check_cache`` True is the default folder (:func:`default_cache_dir`), a path ending in
    ``.json`` that file, any other path a folder; a folder holds one file per image folder,
    named by a hash of its absolute path.
    """
    if check_cache is None or check_cache is False:
        return None
    name = hashlib.sha1(osp.abspath(folder).encode()).hexdigest()[:16] + '.json'
    if check_cache is True:
        return osp.join(default_cache_dir(), name)
    path = osp.expanduser(os.fspath(check_cache))
    return path if path.endswith('.json') else osp.join(path, name)


class VerdictCache:
    """Verdicts of one check on one folder's files, by relative path, size and mtime.

    The file (JSON) holds ``{"format": 1, "folders": {absolute folder: {section: {relative
    path: [size, mtime_ns, reason or null]}}}}``, a section per check mode and Pillow version.
    Entries are kept for files outside the current listing (another holdout part, an
    annotation file's subset), so that datasets sharing a folder do not evict each other.
    A missing file starts empty; an unreadable one is ignored with a warning and rebuilt.

    Args:
        path (str, optional): The cache file; None keeps nothing.
        folder (str): The image folder the relative paths start from.
        mode (str): The check mode, one of :data:`CHECK_MODES`.
    """

    def __init__(self, path: Optional[str], folder: str, mode: str) -> None:
        self.path = path
        self.folder = osp.abspath(folder)
        self.section = f'{mode} check, Pillow {PIL.__version__}'
        self.document: dict = {'format': CACHE_FORMAT, 'folders': {}}
        self.entries: Dict[str, list] = {}
        self.changed = False
        if path is not None and osp.exists(path):
            self._read()

    def _read(self) -> None:
        try:
            with open(self.path, encoding='utf-8') as file:
                document = json.load(file)
            if document.get('format') != CACHE_FORMAT:
                raise ValueError(f'format {document.get("format")!r}, not {CACHE_FORMAT}')
            entries = document['folders'].get(self.folder, {}).get(self.section, {})
            if not isinstance(entries, dict):
                raise ValueError(f'the entries of {self.folder} are not a mapping')
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            print_log(f'ignoring the image-check cache {self.path}, which cannot be read '
                      f'({first_line(err)}); it will be rebuilt', 'current', level=30)
            return
        self.document, self.entries = document, entries

    def get(self, relative: str, state: Tuple[int, int]) -> Union[str, None, bool]:
        """The cached reason (None: usable) for a file in this state, or False if unknown."""
        entry = self.entries.get(relative)
        # Malformed entries (a hand-edited file) count as unknown, never as an error.
        if (type(entry) is list and len(entry) == 3 and entry[0] == state[0]
                and entry[1] == state[1] and (entry[2] is None or type(entry[2]) is str)):
            return entry[2]
        return False

    def put(self, relative: str, state: Tuple[int, int], reason: Optional[str]) -> None:
        self.entries[relative] = [state[0], state[1], reason]
        self.changed = True

    def save(self) -> None:
        """Writes the file atomically (a temporary file renamed over it) if anything changed;
        a failure is a warning."""
        if self.path is None or not self.changed:
            return
        folders = self.document.setdefault('folders', {})
        sections = folders.setdefault(self.folder, {})
        # Verdicts of another Pillow version may no longer hold.
        suffix = self.section.split(', ', 1)[1]
        for name in [name for name in sections if not name.endswith(suffix)]:
            del sections[name]
        sections[self.section] = self.entries
        directory = osp.dirname(osp.abspath(self.path))
        temporary = None
        try:
            os.makedirs(directory, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=directory, prefix=osp.basename(self.path),
                                                 suffix='.tmp')
            # dumps encodes in C at once; dump streams small pieces, several times slower.
            text = json.dumps(self.document, separators=(',', ':'))
            with os.fdopen(handle, 'w', encoding='utf-8') as file:
                file.write(text)
            os.replace(temporary, self.path)
        except OSError as err:
            print_log(f'could not write the image-check cache {self.path} ({first_line(err)}); '
                      'the next run checks these files again', 'current', level=30)
            if temporary is not None and osp.exists(temporary):
                os.remove(temporary)
        self.changed = False
