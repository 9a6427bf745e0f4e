"""Tables that a tool writes into a document between two marker lines, from its JSON.

The document keeps the JSON that its tables were rendered from, so that a test can render them
again and compare: a table in a document is never copied by hand.
"""
import os.path as osp
from typing import Dict, Tuple

from addp.errors import InvalidInputError
from addp.fileio import write_text_atomically
from addp.image_io import save_json


def doc_markers(name: str) -> Tuple[str, str]:
    """The HTML comment lines around the text of a document that the tool ``name`` writes."""
    return f'<!-- {name}:begin -->', f'<!-- {name}:end -->'


def _marked_span(document: str, name: str, path: str) -> Tuple[int, int]:
    """Where the text between ``name``'s marker lines starts and ends in ``document``."""
    begin, end = doc_markers(name)
    lines = document.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.strip() == begin]
    ends = [i for i, line in enumerate(lines) if line.strip() == end]
    if len(begins) != 1 or len(ends) != 1 or begins[0] > ends[0]:
        raise InvalidInputError(f"{path} needs one '{begin}' line and, below it, one '{end}' "
                                f'line around the text that {name} writes; add them')
    return (sum(len(line) for line in lines[:begins[0] + 1]),
            sum(len(line) for line in lines[:ends[0]]))


def marked_text(path: str, name: str) -> str:
    """The text between the tool ``name``'s marker lines in the document at ``path``, without
    the blank lines that set it apart from them."""
    with open(path) as f:
        document = f.read()
    start, stop = _marked_span(document, name, path)
    return document[start:stop].strip('\n') + '\n'


def update_doc(path: str, name: str, text: str) -> None:
    """Replaces the text between the tool ``name``'s marker lines in the document at ``path``
    with ``text``, atomically; the rest of the document stays as it is.

    Args:
        path (str): A markdown document with the lines of :func:`doc_markers`.
        name (str): The tool, e.g. ``'digits_study'``.
        text (str): The new text, e.g. the tables that the tool renders from its JSON.
    """
    with open(path) as f:
        document = f.read()
    start, stop = _marked_span(document, name, path)
    body = text.strip('\n')
    write_text_atomically(path, f'{document[:start]}\n{body}\n\n{document[stop:]}')


def stored_results_path(doc: str, name: str) -> str:
    """Where ``--update-doc DOC`` keeps the JSON that the tool ``name`` rendered DOC's text
    from: ``results/<name>.json`` beside DOC, which the tests check DOC against."""
    return osp.join(osp.dirname(osp.abspath(doc)), 'results', f'{name}.json')


def publish_to_doc(doc: str, name: str, report: Dict, text: str) -> None:
    """Rewrites the marked text of ``doc`` with ``text``, and keeps ``report``, which ``text``
    was rendered from, at :func:`stored_results_path`."""
    save_json(report, stored_results_path(doc, name))
    update_doc(doc, name, text)
