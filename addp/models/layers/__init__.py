from .class_condition import NO_CLASS, check_class_labels, class_slot_ids, drop_class_labels
from .mlm import TiedMLMLayer
from .transformer import Attention, TransformerBlock, init_linear_and_norm

__all__ = [
    'Attention', 'TransformerBlock', 'TiedMLMLayer', 'init_linear_and_norm', 'NO_CLASS',
    'check_class_labels', 'class_slot_ids', 'drop_class_labels'
]
