from .addp import ADDP
from .mask_generator import NestedMaskGenerator

__all__ = ['ADDP', 'NestedMaskGenerator']
