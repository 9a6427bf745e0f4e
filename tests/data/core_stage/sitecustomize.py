"""On PYTHONPATH, makes the interpreter a core-stage environment: mmcv's compiled ops, mmdet and
mmseg do not import, whatever the environment holds."""
import importlib.abc
import importlib.util
import sys

HIDDEN = ('mmcv._ext', 'mmdet', 'mmseg')


def _hidden(name: str) -> bool:
    return name in HIDDEN or name.startswith(tuple(f'{hidden}.' for hidden in HIDDEN))


class HideOpsStage(importlib.abc.MetaPathFinder):

    def find_spec(self, name, path=None, target=None):
        if _hidden(name):
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
        return None


_find_spec = importlib.util.find_spec


def find_spec_without_ops_stage(name, package=None):
    """As where the modules are absent: None, not an error (mmengine probes mmcv._ext so)."""
    return None if _hidden(name) else _find_spec(name, package)


sys.meta_path.insert(0, HideOpsStage())
importlib.util.find_spec = find_spec_without_ops_stage
