"""Scoring generated images: the reference set and torch-fidelity metrics."""
from .fidelity import (
    compute_generation_metrics,
    count_images,
    fid_against_statistics,
    load_reference_statistics,
    resolve_weights,
)
from .reconstruction import ReconstructionMetric
from .reference_set import list_images, prepare_reference_set

__all__ = [
    'compute_generation_metrics', 'count_images', 'fid_against_statistics',
    'load_reference_statistics', 'resolve_weights', 'list_images',
    'prepare_reference_set', 'ReconstructionMetric'
]
