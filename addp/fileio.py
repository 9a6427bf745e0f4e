"""Writing output files whole or not at all."""
import os
import os.path as osp
import tempfile
from typing import Callable


def write_atomically(path: str, write: Callable[[str], None]) -> None:
    """Lets ``write`` fill a temporary file beside ``path``, then renames it to ``path``.

    A reader, a resumed run or a process racing on the same path sees either the complete
    file or the one that was there before. An interruption removes the temporary file, which
    is hidden (``.NAME.*.tmp``) so that no glob for outputs picks it up meanwhile.

    Args:
        path (str): The destination; its folder is created if needed.
        write (Callable[[str], None]): Writes the content to the temporary path it is given.
            It must name the format where the writer infers it from the suffix.
    """
    folder, name = osp.split(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{name}.', suffix='.tmp', dir=folder)
    os.close(fd)
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    finally:
        if osp.exists(tmp_path):
            os.remove(tmp_path)


def write_text_atomically(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` whole or not at all (see :func:`write_atomically`)."""
    def write(tmp_path: str) -> None:
        with open(tmp_path, 'w') as f:
            f.write(text)
    write_atomically(path, write)
