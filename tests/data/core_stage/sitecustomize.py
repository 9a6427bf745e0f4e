"""On PYTHONPATH, makes the interpreter a core-stage environment: mmcv's compiled ops, mmdet and
mmseg do not import, whatever the environment holds."""
import importlib.abc
import sys

HIDDEN = ('mmcv._ext', 'mmdet', 'mmseg')


class HideOpsStage(importlib.abc.MetaPathFinder):

    def find_spec(self, name, path=None, target=None):
        if name in HIDDEN or name.startswith(tuple(f'{hidden}.' for hidden in HIDDEN)):
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
        return None


sys.meta_path.insert(0, HideOpsStage())
