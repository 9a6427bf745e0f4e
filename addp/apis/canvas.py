"""Starting canvases: all tokens masked, or an image whose kept region is fixed (editing)."""
from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from addp.errors import InvalidInputError
from addp.image_io import InterpolationMode, pil_to_tensor, read_rgb, resize_center_crop


class Canvas(NamedTuple):
    """What every sample starts from.

    Attributes:
        token_ids (Tensor): (1, N) known tokens; entries under ``mask`` are not read.
        mask (Tensor): (1, N) bool, true where a token is generated.
        image_size (tuple): (H, W) of the generated images.
        preview (Tensor, optional): (1, 3, H, W) editing input at the model's size, with the
            cells of generated tokens dimmed.
    """
    token_ids: torch.Tensor
    mask: torch.Tensor
    image_size: Tuple[int, int]
    preview: Optional[torch.Tensor] = None


def blank_canvas(num_tokens: int, image_size: Tuple[int, int],
                 device: torch.device = torch.device('cpu')) -> Canvas:
    """Every token masked: unconditional generation."""
    return Canvas(torch.zeros(1, num_tokens, dtype=torch.long, device=device),
                  torch.ones(1, num_tokens, dtype=torch.bool, device=device), tuple(image_size))


def parse_keep_box(text: str) -> Tuple[int, int, int, int]:
    """``'x0,y0,x1,y1'`` to four ints, with an error that shows the expected form."""
    try:
        box = tuple(int(v) for v in text.split(','))
    except ValueError:
        box = ()
    if len(box) != 4:
        raise InvalidInputError(f'--keep-box must be four integers x0,y0,x1,y1 (pixels of --image, '
                                f'x1 and y1 exclusive), got {text!r}')
    return box


def box_keep_mask(box: Sequence[int], image_hw: Tuple[int, int]) -> np.ndarray:
    """A (H, W) bool mask that is true inside ``box`` (x0, y0, x1, y1) of an image (H, W)."""
    height, width = image_hw
    x0, y0, x1, y1 = box
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise InvalidInputError(f'--keep-box {x0},{y0},{x1},{y1} is not a non-empty box inside the '
                                f'{width}x{height} (WxH) image; need 0 <= x0 < x1 <= {width} and '
                                f'0 <= y0 < y1 <= {height}')
    keep = np.zeros((height, width), dtype=bool)
    keep[y0:y1, x0:x1] = True
    return keep


def file_keep_mask(path: str, image_hw: Tuple[int, int]) -> np.ndarray:
    """A (H, W) bool mask from an image file: white (>= 128) keeps, black generates."""
    mask = read_rgb(path).convert('L')
    if (mask.height, mask.width) != tuple(image_hw):
        raise InvalidInputError(
            f'--mask {path!r} is {mask.width}x{mask.height} (WxH) but --image is '
            f'{image_hw[1]}x{image_hw[0]}; the mask must have the size of the image')
    return np.asarray(mask) >= 128


def token_keep_mask(pixel_keep: np.ndarray, image_size: Tuple[int, int],
                    downsample_factor: int, min_kept_fraction: float = 0.5) -> torch.Tensor:
    """Kept pixels of the input image to kept tokens.

    The mask is resized and cropped like the image; a token is kept when at least
    ``min_kept_fraction`` of its cell is kept.

    Args:
        pixel_keep (ndarray): (H0, W0) bool at the input image's size.
        image_size (tuple): The model's (H, W).
        downsample_factor (int): Pixels per token side.
        min_kept_fraction (float): 0.5 keeps cells that are mostly kept; 1.0 regenerates
            every cell that a brush touched.

    Returns:
        Tensor: (1, h * w) bool, true where kept.
    """
    mask_image = Image.fromarray(pixel_keep.astype(np.uint8) * 255)
    resized = resize_center_crop(mask_image, image_size, InterpolationMode.NEAREST)
    keep = torch.from_numpy(np.asarray(resized) >= 128).float()[None, None]
    return (F.avg_pool2d(keep, downsample_factor) >= min_kept_fraction).flatten(1)


@torch.no_grad()
def edit_canvas(tokenizer, image_path: str, image_size: Tuple[int, int],
                keep_box: Optional[Sequence[int]] = None, mask_path: Optional[str] = None,
                device: torch.device = torch.device('cpu')) -> Canvas:
    """A canvas from an image: tokens of the kept region fixed, the rest generated.

    Keeping a box and generating around it is outpainting; a mask whose black part is a
    hole is inpainting. Both run the same sampling loop.

    Args:
        tokenizer (VQGANTokenizer): Encodes the image.
        image_path (str): Any size; scaled to cover ``image_size`` and center-cropped.
        image_size (tuple): The model's (H, W).
        keep_box (Sequence[int], optional): (x0, y0, x1, y1) kept, in pixels of the file.
        mask_path (str, optional): Keep mask of the file's size; white keeps.
        device (torch.device): Where the model runs.

    Returns:
        Canvas: With a ``preview`` of what is kept.
    """
    if (keep_box is None) == (mask_path is None):
        raise InvalidInputError('editing needs exactly one of --keep-box and --mask')
    image = read_rgb(image_path)
    image_hw = (image.height, image.width)
    if keep_box is not None:
        pixel_keep = box_keep_mask(keep_box, image_hw)
    else:
        pixel_keep = file_keep_mask(mask_path, image_hw)
    keep = token_keep_mask(pixel_keep, image_size, tokenizer.downsample_factor)
    num_kept, num_tokens = int(keep.sum()), keep.numel()
    factor = tokenizer.downsample_factor
    if num_kept == 0:
        raise InvalidInputError(
            f'the kept region covers no token: a token is kept when half of its '
            f'{factor}x{factor} cell (at {image_size[1]}x{image_size[0]}) is kept; '
            'enlarge the box or the white part of the mask')
    if num_kept == num_tokens:
        raise InvalidInputError(
            'the kept region covers every token, so nothing would be generated; '
            'shrink the box or paint part of the mask black')
    return canvas_from_keep_mask(tokenizer, image, keep, image_size, device)


@torch.no_grad()
def canvas_from_keep_mask(tokenizer, image: Image.Image, keep: torch.Tensor,
                          image_size: Tuple[int, int],
                          device: torch.device = torch.device('cpu')) -> Canvas:
    """A canvas whose kept tokens are ``image``'s and whose other tokens are generated.

    Args:
        tokenizer (VQGANTokenizer): Encodes the image.
        image (PIL.Image): Any size; scaled to cover ``image_size`` and center-cropped.
        keep (Tensor): (1, N) bool, true for the tokens kept (:func:`token_keep_mask`).
        image_size (tuple): The model's (H, W).
        device (torch.device): Where the model runs.

    Returns:
        Canvas: With a ``preview`` whose generated cells are dimmed.
    """
    pixels = pil_to_tensor(resize_center_crop(image, image_size)).to(device)
    token_ids, _ = tokenizer.encode(pixels)
    generated = F.interpolate((~keep).float().view(1, 1, *tokenizer.grid_size(image_size)),
                              size=tuple(image_size), mode='nearest')
    preview = pixels * (1. - 0.7 * generated.to(device))
    return Canvas(token_ids, ~keep.to(device), tuple(image_size), preview)
