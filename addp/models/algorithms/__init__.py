from .addp import ADDP
from .codebook_reviver import CodebookReviver
from .frozen_parts import FrozenPartsModel
from .mage import MAGE
from .mask_generator import NestedMaskGenerator, TruncatedNormalMaskGenerator
from .vqgan import VQGAN

__all__ = [
    'ADDP', 'CodebookReviver', 'FrozenPartsModel', 'MAGE', 'NestedMaskGenerator',
    'TruncatedNormalMaskGenerator', 'VQGAN'
]
