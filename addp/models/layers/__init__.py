from .mlm import TiedMLMLayer
from .transformer import Attention, TransformerBlock

__all__ = ['Attention', 'TransformerBlock', 'TiedMLMLayer']
