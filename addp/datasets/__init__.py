"""Data that ships with ADDP: scikit-learn's digits and the drawn smoke-test images."""
from .demo_images import draw_demo_image, write_demo_images
from .digits import downsample_to_digit, load_digits_split, prepare_digits, upsample_digit

__all__ = [
    'draw_demo_image', 'write_demo_images', 'downsample_to_digit',
    'load_digits_split', 'prepare_digits', 'upsample_digit'
]
