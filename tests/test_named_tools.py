"""Every script that the code, configs and tools name in their text is in the repository."""
import os
import os.path as osp
import re

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
NAMED_SCRIPT = re.compile(r'\b(?:projects/\w+/)?tools/[\w/]+\.(?:py|sh)\b')


def _sources():
    for top in ('addp', 'configs', 'tools', 'projects'):
        for folder, _, files in os.walk(osp.join(REPO, top)):
            for name in files:
                if name.endswith(('.py', '.sh')):
                    yield osp.join(folder, name)


def test_every_named_script_exists():
    missing = []
    for path in _sources():
        with open(path, encoding='utf-8') as f:
            text = f.read()
        for named in set(NAMED_SCRIPT.findall(text)):
            # A project's own tools/ folder, or the repository's.
            project = re.match(r'(projects/[^/]+)/', osp.relpath(path, REPO))
            roots = [REPO] + ([osp.join(REPO, project.group(1))] if project else [])
            if not any(osp.isfile(osp.join(root, named)) for root in roots):
                missing.append(f'{osp.relpath(path, REPO)} names {named}')
    assert missing == []
