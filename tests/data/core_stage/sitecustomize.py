"""On PYTHONPATH, makes the interpreter a core-stage environment: mmcv's compiled ops, mmdet and
mmseg do not import, whatever the environment holds."""
import importlib.abc
import importlib.machinery
import importlib.util
import sys

HIDDEN = ('mmcv._ext', 'mmdet', 'mmseg')
HIDDEN_DISTRIBUTIONS = ('mmdet', 'mmsegmentation')


def _hidden(name: str) -> bool:
    return name in HIDDEN or name.startswith(tuple(f'{hidden}.' for hidden in HIDDEN))


def _hide_distributions(package_utils) -> None:
    """mmengine asks for the installed distribution before reading ``mmdet::`` configs."""
    is_installed = package_utils.is_installed
    package_utils.is_installed = lambda package: (package not in HIDDEN_DISTRIBUTIONS
                                                  and is_installed(package))


class HideOpsStage(importlib.abc.MetaPathFinder):

    def find_spec(self, name, path=None, target=None):
        if _hidden(name):
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
        if name == 'mmengine.utils.package_utils':
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            exec_module = spec.loader.exec_module

            def exec_and_hide(module):
                exec_module(module)
                _hide_distributions(module)

            spec.loader.exec_module = exec_and_hide
            return spec
        return None


_find_spec = importlib.util.find_spec


def find_spec_without_ops_stage(name, package=None):
    """As where the modules are absent: None, not an error (mmengine probes mmcv._ext so)."""
    return None if _hidden(name) else _find_spec(name, package)


sys.meta_path.insert(0, HideOpsStage())
importlib.util.find_spec = find_spec_without_ops_stage
