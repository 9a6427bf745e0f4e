"""The exact-resume switch: ``randomness.deterministic=True`` and what CUDA needs with it.

MMEngine's ``randomness=dict(deterministic=True)`` turns on
``torch.use_deterministic_algorithms(True)`` and cuDNN's deterministic mode when the runner is
built. CUDA needs two more things, which only the process that starts training can give:
``CUBLAS_WORKSPACE_CONFIG=:4096:8`` in the environment before cuBLAS starts (without it every
fp32 matrix product raises in deterministic mode), and cuDNN's autotuner off, which picks
kernels by timing and so may pick others after a resume. ``tools/train.py`` applies them for
``--deterministic`` or a config that sets ``randomness.deterministic``.
"""
import os

from mmengine.config import Config
from mmengine.logging import print_log

# cuBLAS's reproducible workspace layout: 8 buffers of 4 MiB.
CUBLAS_WORKSPACE_CONFIG = ':4096:8'


def deterministic_requested(cfg: Config) -> bool:
    """Whether ``cfg`` asks for deterministic kernels (``randomness.deterministic``)."""
    return bool((cfg.get('randomness') or {}).get('deterministic', False))


def apply_deterministic_switch(cfg: Config, requested: bool = False) -> Config:
    """Turns on, in ``cfg`` and this process, what a bit-exact resume on CUDA needs.

    Call it before anything starts CUDA. Does nothing unless ``requested`` or ``cfg`` already
    sets ``randomness.deterministic``.

    Args:
        cfg (Config): The training config; changed in place.
        requested (bool): Turn the switch on (``--deterministic``).

    Returns:
        Config: ``cfg``.
    """
    if not (requested or deterministic_requested(cfg)):
        return cfg
    randomness = dict(cfg.get('randomness') or {})
    randomness['deterministic'] = True
    cfg.randomness = randomness
    env_cfg = dict(cfg.get('env_cfg') or {})
    env_cfg['cudnn_benchmark'] = False
    cfg.env_cfg = env_cfg
    value = os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', CUBLAS_WORKSPACE_CONFIG)
    if value not in (':4096:8', ':16:8'):
        print_log(f'CUBLAS_WORKSPACE_CONFIG={value} is not a deterministic setting; '
                  f'deterministic cuBLAS needs {CUBLAS_WORKSPACE_CONFIG} (or :16:8)', 'current',
                  level=30)
    return cfg
