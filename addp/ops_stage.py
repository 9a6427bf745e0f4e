"""The environment's ops stage: mmcv's compiled ops, mmdet and mmsegmentation.

The core environment (``tools/setup_env.sh``) serves ADDP itself and leaves out what only
detection and segmentation need, since compiling mmcv's ops takes 10-35 minutes.
"""
import importlib.util

from addp.errors import ADDPError

BUILD_COMMAND = 'bash tools/setup_env.sh --with-ops'


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
        raise MissingOpsStageError(
            f'{user} needs the ops stage of the environment ({", ".join(missing)} missing); '
            f'build it once with `{BUILD_COMMAND}` (10-35 minutes on 2 cores)')
