from .class_condition import NO_CLASS, check_class_labels, class_slot_ids, drop_class_labels
from .gumbel import standard_gumbel
from .mlm import TiedMLMLayer
from .token_counts import count_per_row, shared_row_count
from .transformer import Attention, TransformerBlock, init_linear_and_norm

__all__ = [
    'Attention', 'TransformerBlock', 'TiedMLMLayer', 'init_linear_and_norm', 'NO_CLASS',
    'check_class_labels', 'class_slot_ids', 'count_per_row', 'drop_class_labels',
    'shared_row_count', 'standard_gumbel'
]
