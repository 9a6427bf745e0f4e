from .mlm import TiedMLMLayer
from .transformer import Attention, TransformerBlock, init_linear_and_norm

__all__ = ['Attention', 'TransformerBlock', 'TiedMLMLayer', 'init_linear_and_norm']
