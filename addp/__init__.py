"""ADDP: alternating denoising diffusion for image recognition and generation, on MMEngine."""
import warnings

from .version import __version__

# The core environment stage has mmcv without ops by design; addp.ops_stage names them where
# they are needed, so mmcv's import-time advice to install them is noise.
warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')

__all__ = ['__version__']
