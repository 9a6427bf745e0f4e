"""ADDP: alternating denoising diffusion for image recognition and generation, on MMEngine."""
import warnings

from .version import __version__

# The core environment stage has mmcv without ops by design; addp.ops_stage names them where
# they are needed, so mmcv's import-time advice to install them is noise.
warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')
# mmengine looks packages up through pkg_resources, which setuptools 81 deprecates at import.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

__all__ = ['__version__']
