"""Reading any image a user's folder may hold as opaque 8-bit colour."""
import io
from functools import lru_cache
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.fileio import get
from PIL import Image, ImageOps

from addp.registry import TRANSFORMS

# PIL modes of more than 8 bits per sample, and the largest value each holds.
WIDE_MODES = {'I;16': 65535, 'I;16L': 65535, 'I;16B': 65535, 'I;16N': 65535, 'I': 65535,
              'F': 1.0}
ALPHA_MODES = ('RGBA', 'LA', 'PA', 'RGBa', 'La')
Colour = Tuple[int, int, int]


@lru_cache(maxsize=None)
def readable_extensions() -> Tuple[str, ...]:
    """File extensions of the raster formats this Pillow opens, lower case with the dot."""
    Image.init()
    return tuple(sorted(ext for ext, fmt in Image.registered_extensions().items()
                        if fmt in Image.OPEN))


def to_8bit(image: Image.Image) -> Image.Image:
    """Scales a 16-bit, 32-bit integer or float greyscale image to 8 bits ('L').

    Pillow's own conversion would clip at 255 instead. 32-bit integer images are taken as
    16-bit data, which is how Pillow opens 16-bit PNG files on some versions.
    """
    top = WIDE_MODES[image.mode]
    array = np.asarray(image, dtype=np.float64)
    if image.mode == 'I' and array.max() > top:
        top = float(2**32 - 1)
    return Image.fromarray(np.clip(np.round(array * (255. / top)), 0, 255).astype(np.uint8), 'L')


def flatten_to_rgb(image: Image.Image, background: Colour) -> Image.Image:
    """An opaque 8-bit RGB image: EXIF rotation applied, wide greyscale scaled to 8 bits, and
    transparency composited onto ``background``."""
    image = ImageOps.exif_transpose(image)
    if image.mode in WIDE_MODES:
        image = to_8bit(image)
    if image.mode in ALPHA_MODES or 'transparency' in image.info:
        rgba = image.convert('RGBA')
        canvas = Image.new('RGBA', rgba.size, tuple(background) + (255, ))
        image = Image.alpha_composite(canvas, rgba)
    return image.convert('RGB')


def read_image(data: bytes, background: Colour = (255, 255, 255)) -> np.ndarray:
    """Decodes image bytes fully (a truncated file raises) to (H, W, 3) uint8 RGB.

    Raises:
        OSError: Pillow cannot identify or decode the data.
    """
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return np.asarray(flatten_to_rgb(image, background))


@TRANSFORMS.register_module()
class LoadAnyImageFromFile(BaseTransform):
    """mmcv's ``LoadImageFromFile`` for any image a folder may hold.

    The result is what ``LoadImageFromFile`` gives for an ordinary 8-bit image: ``img`` as
    (H, W, 3) uint8 in BGR order, ``img_shape`` and ``ori_shape``. What differs is the rest:
    transparent images are composited onto ``background`` instead of showing whatever colour
    lies under their alpha, 16-bit images are scaled to 8 bits instead of clipped, palette
    and greyscale images become colour, and EXIF rotation is applied. Every format Pillow
    opens is read (GIF, first frame).

    Required keys: ``img_path``. Added keys: ``img``, ``img_shape``, ``ori_shape``.

    Args:
        background (Sequence[int]): RGB under transparent pixels.
        to_float32 (bool): Return float32 pixels instead of uint8.
        backend_args (dict, optional): MMEngine file backend arguments.
    """

    def __init__(self, background: Sequence[int] = (255, 255, 255), to_float32: bool = False,
                 backend_args: Optional[dict] = None) -> None:
        self.background = tuple(int(c) for c in background)
        self.to_float32 = to_float32
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        rgb = read_image(get(results['img_path'], backend_args=self.backend_args),
                         self.background)
        img = np.ascontiguousarray(rgb[..., ::-1])
        if self.to_float32:
            img = img.astype(np.float32)
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(background={self.background}, '
                f'to_float32={self.to_float32})')
