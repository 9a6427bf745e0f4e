"""Sampling and editing with a trained ADDP model, as the tools use them."""
from .canvas import (
    Canvas,
    blank_canvas,
    canvas_from_keep_mask,
    edit_canvas,
    parse_keep_box,
    token_keep_mask,
)
from .folder_sampling import sample_to_folder
from .sample_folder import image_path, shard_indices
from .sampling import (
    AMP_DTYPES,
    autocast_context,
    build_sampling_model,
    build_token_predictor_sampling_model,
    image_generator,
    sample_images,
    sampling_image_size,
)

__all__ = [
    'Canvas', 'blank_canvas', 'canvas_from_keep_mask', 'edit_canvas', 'parse_keep_box',
    'token_keep_mask',
    'sample_to_folder', 'image_path', 'shard_indices',
    'AMP_DTYPES', 'autocast_context', 'build_sampling_model',
    'build_token_predictor_sampling_model', 'image_generator', 'sample_images',
    'sampling_image_size'
]
