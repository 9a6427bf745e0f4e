"""The package's layers: a module imports only from its own layer or the ones below it.

Lower layers never import higher ones, so that a model can be used without the training
engine, and the engine without the tools. ``addp.testing`` serves the tests alone.
"""
import ast
import os
import os.path as osp
from typing import Iterator, Tuple

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Bottom to top. A unit is a top-level module or package of addp, or a package of addp.models.
LAYERS = (
    ('errors', 'fileio', 'version', 'progress', 'registry', 'metrics', 'ops_stage',
     'host_values', 'precision'),
    ('image_io', 'checkpoint'),
    ('models.layers', ),
    ('models.target_generators', 'models.backbones', 'models.necks', 'models.sampling'),
    ('models.heads', 'models.algorithms'),
    ('models', ),
    ('datasets', 'evaluation'),
    ('engine', ),
    ('apis', ),
    ('cli', 'dist', 'measurement_cache', '__init__'),
    ('testing', ),
)
RANK = {unit: rank for rank, layer in enumerate(LAYERS) for unit in layer}


def _unit(module: str) -> str:
    """The layer unit of a dotted module name under addp."""
    parts = module.split('.')[1:]
    if not parts:
        return '__init__'
    if parts[0] == 'models' and len(parts) > 1:
        return f'models.{parts[1]}'
    return parts[0]


def _imports() -> Iterator[Tuple[str, str, str]]:
    """(file, importing unit, imported addp module) for every import inside addp/."""
    for folder, _, files in os.walk(osp.join(REPO, 'addp')):
        for name in files:
            if not name.endswith('.py'):
                continue
            path = osp.join(folder, name)
            module = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
            package = module.split('.')[:-1]  # the package a relative import starts from
            if name == '__init__.py':
                module = module[:-len('.__init__')]
            with open(path, encoding='utf-8') as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    base = package[:len(package) - node.level + 1] if node.level else []
                    target = '.'.join(base + ([node.module] if node.module else []))
                    targets = [target]
                elif isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                else:
                    continue
                for target in targets:
                    if target == 'addp' or target.startswith('addp.'):
                        yield osp.relpath(path, REPO), _unit(module), target


def test_every_unit_has_a_layer():
    units = {_unit(osp.relpath(osp.join(folder, name), REPO)[:-3].replace(os.sep, '.'))
             for folder, _, files in os.walk(osp.join(REPO, 'addp')) for name in files
             if name.endswith('.py')}
    units = {unit.replace('.__init__', '') or '__init__' for unit in units}
    assert sorted(units - set(RANK)) == []


def test_no_module_imports_from_a_higher_layer():
    upward = [f'{path} imports {target}' for path, unit, target in _imports()
              if _unit(target) != unit and RANK[_unit(target)] > RANK[unit]]
    assert upward == []


def test_the_test_helpers_serve_the_tests_alone():
    users = [path for path, unit, target in _imports() if _unit(target) == 'testing'
             and unit != 'testing']
    assert users == []
