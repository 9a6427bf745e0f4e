"""Every link in the documentation resolves, and every script or config it names exists.

Checked pages: README.md, docs/*.md, projects/*/README.md and configs/addp/README.md.

- A relative markdown link or image, ``[text](path)``, ``![alt](path)``, ``[text]: path`` or
  ``<img src="path">``, must resolve from the page's folder to a file or folder inside the
  repository. ``http(s)://`` and ``mailto:`` links and pure ``#anchor`` links are skipped; a
  ``#anchor`` after a file is stripped. Links inside code are not links and are not read.
- A path that code spans or code blocks name, beginning with ``tools/``, ``configs/`` or
  ``projects/`` and ending in ``.py`` or ``.sh``, must exist relative to the repository root
  (commands run from there). Shell brace lists (``configs/digits/{a,b}.py``) are expanded.
  Placeholders are skipped: ``...``, ``…``, ``<name>``, ``*``, ``$VAR`` and capitalised
  stand-ins such as ``CONFIG``. Outputs under ``work_dirs/`` or ``data/`` are never checked,
  since only the three prefixes are read.
- A ``#anchor`` into a markdown page (``#part`` on the same page, ``page.md#part`` elsewhere)
  must name one of that page's headings, as GitHub turns headings into anchors.

Each test lists every broken item, with its page and line, in one failure message.
"""
import glob
import itertools
import os.path as osp
import re
from typing import Iterator, List, NamedTuple, Set, Tuple

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Pages that must exist: a glob that silently matches nothing would check nothing.
REQUIRED_PAGES = ('README.md', 'configs/addp/README.md', 'docs/installation.md',
                  'docs/pretraining.md', 'docs/own_data.md', 'docs/generation.md',
                  'docs/classification.md', 'docs/detection_segmentation.md', 'docs/demo.md',
                  'docs/checkpoints.md', 'docs/speed.md', 'docs/parity.md')

FENCE = re.compile(r'^\s*(```|~~~)')
CODE_SPAN = re.compile(r'(`+)(.+?)\1')
# The target of [text](target) and ![alt](target), with an optional "title". Every "](" ends
# a link's text, so both links of [![alt](image)](target) are read.
INLINE_LINK = re.compile(r'\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
REFERENCE_LINK = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$')
HTML_SOURCE = re.compile(r'<(?:img|a|source)\b[^>]*?\b(?:src|href)\s*=\s*["\']([^"\']+)["\']',
                         re.IGNORECASE)
# A repository path: not preceded by a path character, so that the tail of a longer path
# (projects/x/configs/y.py) or of $MMDET/tools/train.py is not read as a path of its own.
NAMED_PATH = re.compile(
    r'(?<![\w./$-])((?:tools|configs|projects)/(?:\{[^{}\s]*\}|[^\s`\'"(),;:|\]{}])+)')
SCRIPT_SUFFIXES = ('.py', '.sh')
PLACEHOLDER = re.compile(r'\.\.\.|…|[<>*$]|(?:^|/)[A-Z][A-Z0-9_]+(?:\.|/|$)')
EXTERNAL = re.compile(r'^(?:[a-z][a-z0-9+.-]*:|//)', re.IGNORECASE)
HEADING = re.compile(r'^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$')


class Item(NamedTuple):
    page: str  # relative to the repository root
    line: int
    target: str

    def where(self) -> str:
        return f'{self.page}:{self.line}: {self.target}'


def doc_pages(root: str = ROOT) -> List[str]:
    patterns = ('README.md', 'docs/*.md', 'projects/*/README.md', 'configs/addp/README.md')
    pages = {osp.relpath(path, root)
             for pattern in patterns for path in glob.glob(osp.join(root, pattern))}
    return sorted(pages)


def split_code(text: str) -> Iterator[Tuple[int, str, List[str]]]:
    """(line number, the line's prose with code spans blanked, the line's code) per line.

    A line inside a fenced block is all code; elsewhere the code is its code spans.
    """
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            yield number, '', [line]
            continue
        spans = [match.group(2) for match in CODE_SPAN.finditer(line)]
        yield number, CODE_SPAN.sub(lambda m: ' ' * len(m.group(0)), line), spans


def link_targets(text: str) -> Iterator[Tuple[int, str]]:
    for number, prose, _ in split_code(text):
        for pattern in (INLINE_LINK, HTML_SOURCE):
            for match in pattern.finditer(prose):
                yield number, match.group(1)
        reference = REFERENCE_LINK.match(prose)
        if reference:
            yield number, reference.group(1)


def expand_braces(path: str) -> List[str]:
    """``a/{b,c}_d.py`` -> ``['a/b_d.py', 'a/c_d.py']``, as the shell expands it."""
    parts = re.split(r'\{([^{}]*,[^{}]*)\}', path)
    choices = [[part] if index % 2 == 0 else part.split(',')
               for index, part in enumerate(parts)]
    return [''.join(combination) for combination in itertools.product(*choices)]


def named_paths(text: str) -> Iterator[Tuple[int, str]]:
    for number, _, code in split_code(text):
        for chunk in code:
            for match in NAMED_PATH.finditer(chunk):
                path = match.group(1).rstrip('.')
                for expanded in expand_braces(path):
                    if expanded.endswith(SCRIPT_SUFFIXES) and not PLACEHOLDER.search(expanded):
                        yield number, expanded


def inside(root: str, path: str) -> bool:
    root = osp.abspath(root)
    return osp.commonpath([root, osp.abspath(path)]) == root


def broken_links(page: str, root: str = ROOT) -> Tuple[List[Item], int]:
    """The links of ``page`` that do not resolve, and how many links were checked."""
    with open(osp.join(root, page), encoding='utf-8') as f:
        text = f.read()
    broken, checked = [], 0
    for number, target in link_targets(text):
        if target.startswith('#') or EXTERNAL.match(target):
            continue
        checked += 1
        path = target.split('#', 1)[0].split('?', 1)[0]
        resolved = osp.normpath(osp.join(root, osp.dirname(page), path))
        if not inside(root, resolved):
            broken.append(Item(page, number, f'{target} (points outside the repository)'))
        elif not osp.exists(resolved):
            broken.append(Item(page, number, f'{target} (no such file or folder)'))
    return broken, checked


def missing_paths(page: str, root: str = ROOT) -> Tuple[List[Item], int]:
    """The scripts and configs that ``page`` names in code and that do not exist."""
    with open(osp.join(root, page), encoding='utf-8') as f:
        text = f.read()
    missing, checked = [], 0
    for number, path in named_paths(text):
        checked += 1
        if not osp.isfile(osp.join(root, path)):
            missing.append(Item(page, number, path))
    return missing, checked


def heading_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lower case, punctuation dropped, spaces as -."""
    text = re.sub(r'<[^>]+>', '', heading)  # HTML tags such as <sup>
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', text)  # a link's text
    text = re.sub(r'[^\w\- ]', '', text.lower())
    return text.replace(' ', '-')


def page_anchors(path: str) -> Set[str]:
    with open(path, encoding='utf-8') as f:
        text = f.read()
    anchors, seen = set(), {}
    in_fence = False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match:
            anchor = heading_anchor(match.group(1))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            anchors.add(anchor if count == 0 else f'{anchor}-{count}')
    return anchors


def broken_anchors(page: str, root: str = ROOT) -> Tuple[List[Item], int]:
    """The ``#anchor`` links of ``page`` into markdown pages that name no heading there."""
    with open(osp.join(root, page), encoding='utf-8') as f:
        text = f.read()
    broken, checked = [], 0
    for number, target in link_targets(text):
        if EXTERNAL.match(target) or '#' not in target:
            continue
        path, anchor = target.split('#', 1)
        resolved = osp.normpath(osp.join(root, osp.dirname(page), path)) if path else osp.join(
            root, page)
        if not resolved.endswith('.md') or not osp.isfile(resolved):
            continue  # a missing file is reported by the link check
        checked += 1
        if anchor not in page_anchors(resolved):
            broken.append(Item(page, number, f'{target} (no such heading)'))
    return broken, checked


def report(kind: str, items: List[Item]) -> str:
    return f'{len(items)} {kind}:\n' + '\n'.join('  ' + item.where() for item in items)


def test_the_pages_are_found():
    pages = doc_pages()
    for page in REQUIRED_PAGES:
        assert page in pages, f'{page} is not among the checked pages {pages}'
    assert {'projects/addp_det/README.md', 'projects/addp_seg/README.md',
            'projects/gradio_demo/README.md', 'projects/digits_study/README.md'} <= set(pages)


def test_links_resolve():
    broken, checked = [], 0
    for page in doc_pages():
        page_broken, page_checked = broken_links(page)
        broken += page_broken
        checked += page_checked
    assert not broken, report('broken links', broken)
    # The pages link each other and their pictures: far fewer means the parser reads nothing.
    assert checked >= 60, f'only {checked} relative links found'


def test_anchors_name_headings():
    broken, checked = [], 0
    for page in doc_pages():
        page_broken, page_checked = broken_anchors(page)
        broken += page_broken
        checked += page_checked
    assert not broken, report('links to headings that do not exist', broken)
    assert checked >= 30, f'only {checked} links to headings found'


def test_named_scripts_and_configs_exist():
    missing, checked = [], 0
    for page in doc_pages():
        page_missing, page_checked = missing_paths(page)
        missing += page_missing
        checked += page_checked
    assert not missing, report('scripts or configs named but not in the repository', missing)
    assert checked >= 100, f'only {checked} named scripts and configs found'


# The checker itself, on pages written for it.

PAGE = '''# Title

[here](docs/real.md#part) and ![pic](docs/pic.png) and [gone](docs/gone.md)
[up and out](../outside.md) [anchor](#title) [web](https://example.com/x.md)
[mail](mailto:a@b.c) [![badge](docs/pic.png)](docs/missing_target.md)
<img src="docs/missing.png" width="40%"/>

[ref]: docs/nowhere.md

Run `python tools/real.py` and `tools/missing.py`, not `configs/x/<name>.py` or
`configs/addp/....py`; `[not a link](docs/gone_in_code.md)` is code.

```bash
python tools/real.py configs/{real,absent}_cfg.py
bash tools/missing.sh CONFIG work_dirs/out/model.py data/x/prep.py
python $MMDET/tools/nope.py projects/p/configs/real_cfg.py CONFIG.py configs/*_long.py
[not a link](docs/gone_in_block.md)
```
'''


@pytest.fixture
def tiny_repo(tmp_path):
    for name in ('docs/real.md', 'docs/pic.png', 'tools/real.py', 'configs/real_cfg.py',
                 'projects/p/configs/real_cfg.py'):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('')
    (tmp_path / 'README.md').write_text(PAGE)
    return str(tmp_path)


def test_checker_reports_every_broken_link(tiny_repo):
    broken, checked = broken_links('README.md', tiny_repo)
    assert [(item.line, item.target) for item in broken] == [
        (3, 'docs/gone.md (no such file or folder)'),
        (4, '../outside.md (points outside the repository)'),
        (5, 'docs/missing_target.md (no such file or folder)'),
        (6, 'docs/missing.png (no such file or folder)'),
        (8, 'docs/nowhere.md (no such file or folder)'),
    ]
    # real.md#part, pic.png twice, and the five broken ones; not the anchor, web or mail links
    assert checked == 8


def test_checker_reports_every_missing_path(tiny_repo):
    missing, checked = missing_paths('README.md', tiny_repo)
    assert [(item.line, item.target) for item in missing] == [
        (10, 'tools/missing.py'), (14, 'configs/absent_cfg.py'), (15, 'tools/missing.sh')]
    # tools/real.py twice, configs/real_cfg.py, projects/p/configs/real_cfg.py, and the three
    # missing; placeholders, $MMDET's tools, work_dirs/ and data/ are not read
    assert checked == 7


def test_failure_message_names_page_line_and_target():
    items = [Item('README.md', 3, 'docs/gone.md'), Item('docs/a.md', 9, 'tools/x.py')]
    message = report('broken links', items)
    assert message.splitlines() == ['2 broken links:', '  README.md:3: docs/gone.md',
                                    '  docs/a.md:9: tools/x.py']


def test_checker_reports_every_broken_anchor(tmp_path):
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'a.md').write_text(
        '# Page A\n\n## Checkpoints under torch >= 2.6\n\n## Notes\n\n## Notes\n\n'
        '### `tools/x.py`: the <sup>box</sup> [tool](x.md)\n\n```\n# not a heading\n```\n')
    (tmp_path / 'README.md').write_text(
        '# Top\n\n[a](docs/a.md#checkpoints-under-torch--26) [b](docs/a.md#notes-1)\n'
        '[c](docs/a.md#toolsxpy-the-box-tool) [d](#top) [e](docs/a.md#notes-2)\n'
        '[f](#not-a-heading) [g](docs/gone.md#x) [h](https://example.com/#x)\n')
    broken, checked = broken_anchors('README.md', str(tmp_path))
    assert [(item.line, item.target) for item in broken] == [
        (4, 'docs/a.md#notes-2 (no such heading)'), (5, '#not-a-heading (no such heading)')]
    assert checked == 6


def test_brace_expansion():
    assert expand_braces('configs/digits/{mage,addp}_tiny_digits_cond.py') == [
        'configs/digits/mage_tiny_digits_cond.py', 'configs/digits/addp_tiny_digits_cond.py']
    assert expand_braces('tools/train.py') == ['tools/train.py']
