"""ADDP: alternating denoising diffusion for image recognition and generation, on MMEngine."""
from .version import __version__

__all__ = ['__version__']
