"""The environment's ops stage: mmcv's compiled ops, mmdet and mmsegmentation.

The core environment (``tools/setup_env.sh``) serves ADDP itself and leaves out what only
detection and segmentation need, since compiling mmcv's ops takes 10-35 minutes.
"""
import importlib.util
import os.path as osp

from mmengine.config import Config

from addp.errors import ADDPError

BUILD_COMMAND = 'bash tools/setup_env.sh --with-ops'
# The ops stage's distributions, which ``mmdet::`` and ``mmseg::`` configs inherit from.
OPS_STAGE_DISTRIBUTIONS = ('mmdet', 'mmsegmentation')


class MissingOpsStageError(ADDPError):
    """The ops stage is not installed; the message names the command that builds it."""


def missing_ops_stage_parts(libraries=('mmdet', 'mmseg')) -> list:
    """What of the ops stage is missing: ``mmcv._ext`` and any of ``libraries``."""
    missing = []
    for name in ('mmcv._ext', ) + tuple(libraries):
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:
            found = False
        if not found:
            missing.append(name)
    return missing


def require_ops_stage(user: str, library: str) -> None:
    """Raises :class:`MissingOpsStageError` unless mmcv's ops and ``library`` import.

    Args:
        user (str): What needs them, for the message (``'projects/addp_det'``).
        library (str): The OpenMMLab library it builds on (``'mmdet'`` or ``'mmseg'``).
    """
    missing = missing_ops_stage_parts((library, ))
    if missing:
        raise MissingOpsStageError(_needs_ops_stage(user, missing))


def _needs_ops_stage(user: str, missing: list) -> str:
    return (f'{user} needs the ops stage of the environment ({", ".join(missing)} missing); '
            f'build it once with `{BUILD_COMMAND}` (10-35 minutes on 2 cores)')


def load_config(path: str) -> Config:
    """``Config.fromfile``, except that a config inheriting from a library of the ops stage
    that is missing raises :class:`MissingOpsStageError` instead of mmengine's
    ``ModuleNotFoundError``."""
    try:
        return Config.fromfile(path)
    except ModuleNotFoundError as err:
        # mmengine's message: "<distribution> is not installed, please install ...".
        distribution = str(err).split(' ', 1)[0]
        if distribution not in OPS_STAGE_DISTRIBUTIONS:
            raise
        parts = osp.normpath(osp.abspath(path)).split(osp.sep)
        user = ('/'.join(parts[parts.index('projects'):][:2])
                if 'projects' in parts else osp.basename(path))
        raise MissingOpsStageError(_needs_ops_stage(user, [distribution])) from err
