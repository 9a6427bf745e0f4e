"""What the web demo does, without the web: sample, repaint and classify with one ADDP model.

The ADDP model samples and repaints; an ``ImageClassifier`` whose backbone is the same
encoder, fine-tuned, classifies. Each is loaded on first use, so that a missing file is a
message in the page of the tab that needs it rather than a failed start.
"""
import os.path as osp
import threading
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from addp.apis import (
    blank_canvas,
    build_sampling_model,
    canvas_from_keep_mask,
    sample_images,
    sampling_image_size,
    token_keep_mask,
)
from addp.checkpoint import extract_state_dict, load_state_dict_checked, read_checkpoint
from addp.datasets.digits import downsample_to_digit, upsample_digit
from addp.errors import InputNotFoundError, InvalidInputError
from addp.image_io import resize_center_crop, to_uint8
from addp.models.sampling import ADDPSampler
from addp.registry import MODELS

ProgressCallback = Callable[[int, int], None]

# Digits are white strokes on black; an upload brighter than this on average is inverted.
BRIGHT_BACKGROUND = 127


@dataclass(frozen=True)
class DemoLimits:
    """What one request may ask of the model; anything over a limit is refused in one line.

    The page's sliders end at these values, and :class:`DemoModels` holds every caller to
    them, the HTTP API included.

    Attributes:
        max_steps (int): Denoising steps of one Generate or Repaint.
        max_images (int): Images one Generate draws.
        max_image_side (int): Pixels on the longer side of an image given to Repaint or
            Classify.
    """
    max_steps: int = 64
    max_images: int = 64
    max_image_side: int = 4096


def resolve_checkpoint(path: str, what: str, hint: str) -> str:
    """A checkpoint file, or the one a work dir's ``last_checkpoint`` names.

    Raises:
        InputNotFoundError: Naming ``what`` is missing and how to make it (``hint``).
    """
    if osp.isdir(path) and osp.isfile(osp.join(path, 'last_checkpoint')):
        with open(osp.join(path, 'last_checkpoint')) as file:
            path = file.read().strip()
    if not osp.isfile(path):
        raise InputNotFoundError(f'no {what} checkpoint at {path!r}: {hint}')
    return path


@dataclass
class SamplingOptions:
    """The controls shared by Generate and Repaint.

    Attributes:
        num_steps (int): Denoising steps.
        temperature (float): Gumbel noise on the confidences that pick the tokens kept at
            each step (MAGE's ``--temp``; the released models use 6.0 at 256 px).
        seed (int): Image i is drawn from the stream of (seed, i), whatever else is asked.
        class_label (int, optional): For a class-conditional model.
        cfg_scale (float): Classifier-free guidance scale; 1 is plain conditional sampling.
    """
    num_steps: int = 16
    temperature: float = 6.0
    seed: int = 0
    class_label: Optional[int] = None
    cfg_scale: float = 1.0

    def sampler(self) -> ADDPSampler:
        return ADDPSampler(num_steps=self.num_steps, choice_temperature=self.temperature,
                           cfg_scale=self.cfg_scale)


@dataclass
class RepaintResult:
    """Attributes:
        image (ndarray): (H0, W0, 3) uint8 at the input's size; unbrushed pixels are the input's.
        redone (ndarray): (H0, W0) bool, the brushed pixels that were replaced.
        tokens (ndarray): (h, w) bool, the token cells that were regenerated.
    """
    image: np.ndarray
    redone: np.ndarray
    tokens: np.ndarray


class DemoModels:
    """The demo's ADDP model and fine-tuned classifier, loaded when first needed.

    Args:
        addp_config (str): An ``ADDP`` config; its tokenizer entry names the tokenizer file.
        addp_checkpoint (str): ADDP weights (official or MMEngine format), or a work dir.
        classifier_config (str, optional): An ``ImageClassifier`` config, e.g. a fine-tuning
            recipe. Without it the Classify tab says so.
        classifier_checkpoint (str, optional): Its weights, or its work dir.
        cfg_options (dict, optional): Overrides for the ADDP config.
        digit_grid (int, optional): The classifier reads digits recorded on this coarse grid
            (8 for scikit-learn's 8 x 8 digits): an input is made white on black, fitted to
            its strokes and passed through the grid, as the training digits were made.
            None for a classifier of photos.
        device (str): Where both models run.
        limits (DemoLimits): What one request may ask.

    One inference runs at a time: Generate, Repaint and Classify wait for each other, from
    any number of threads.
    """

    def __init__(self, addp_config: str, addp_checkpoint: str,
                 classifier_config: Optional[str] = None,
                 classifier_checkpoint: Optional[str] = None,
                 cfg_options: Optional[dict] = None, digit_grid: Optional[int] = None,
                 device: str = 'cpu', limits: DemoLimits = DemoLimits()) -> None:
        self.addp_config = addp_config
        self.addp_checkpoint = addp_checkpoint
        self.classifier_config = classifier_config
        self.classifier_checkpoint = classifier_checkpoint
        self.cfg_options = cfg_options or {}
        self.digit_grid = digit_grid
        self.device = device
        self.limits = limits
        self._addp = None
        self._classifier = None
        self._class_names: Optional[List[str]] = None
        self._lock = threading.Lock()
        # Held through each inference; separate from ``_lock``, which each load takes inside it.
        self._inference_lock = threading.Lock()

    # Loading ---------------------------------------------------------------------------

    @property
    def addp(self) -> torch.nn.Module:
        """The sampling model (tokenizer, encoder, decoder), built on first use."""
        with self._lock:
            if self._addp is None:
                checkpoint = resolve_checkpoint(
                    self.addp_checkpoint, 'ADDP',
                    'run `bash tools/run_demo.sh` first, or pass --config and --checkpoint')
                # A missing tokenizer file is refused, by name, when the model loads it.
                self._addp = build_sampling_model(self.addp_config, checkpoint, self.cfg_options,
                                                  self.device)
            return self._addp

    @property
    def classifier(self) -> torch.nn.Module:
        """The fine-tuned ``ImageClassifier``, built on first use."""
        with self._lock:
            if self._classifier is None:
                self._classifier = self._build_classifier()
            return self._classifier

    def _build_classifier(self) -> torch.nn.Module:
        if not self.classifier_config:
            raise InputNotFoundError(
                'no classifier: pass --classifier-config and --classifier-checkpoint')
        checkpoint = resolve_checkpoint(
            self.classifier_checkpoint or '', 'classifier',
            'run `bash tools/run_demo.sh` (its report fine-tunes the encoder), or pass '
            '--classifier-checkpoint')
        cfg = Config.fromfile(self.classifier_config)
        init_default_scope(cfg.get('default_scope', 'addp'))
        # The fine-tuned weights replace whatever the recipe initialised the encoder from.
        cfg.model.backbone.init_cfg = None
        model = MODELS.build(cfg.model)
        load_state_dict_checked(model, extract_state_dict(read_checkpoint(checkpoint)),
                                checkpoint)
        # Names from the test set's ``classes`` where the recipe lists them, else indices.
        classes = cfg.get('test_dataloader', {}).get('dataset', {}).get('classes')
        num_classes = getattr(model.head, 'num_classes', None)
        self._class_names = ([str(c) for c in classes] if classes and
                             len(classes) == num_classes else None)
        return model.to(self.device).eval()

    @property
    def image_size(self) -> Tuple[int, int]:
        """The (H, W) the ADDP model generates."""
        return sampling_image_size(self.addp)

    @property
    def num_classes(self) -> Optional[int]:
        """Classes the ADDP model can be asked for; None when it is unconditional."""
        model = self.addp
        return model.num_classes if getattr(model, 'class_conditional', False) else None

    # Limits ------------------------------------------------------------------------------

    def check_options(self, options: SamplingOptions) -> None:
        """Refuses a number of steps outside 1 to ``limits.max_steps``, in one line."""
        if not 1 <= options.num_steps <= self.limits.max_steps:
            raise InvalidInputError(f'steps must be 1 to {self.limits.max_steps}, got '
                                    f'{options.num_steps}: pick a number in that range')

    def check_image_size(self, height: int, width: int) -> None:
        """Refuses, in one line, an image over ``limits.max_image_side`` pixels a side.

        Called before anything is computed from the image.
        """
        side = self.limits.max_image_side
        if max(height, width) > side:
            raise InvalidInputError(f'the image is {width}x{height} pixels, over the limit of '
                                    f'{side} pixels a side: scale it down to fit {side}x{side}')

    # Generate ----------------------------------------------------------------------------

    @torch.no_grad()
    def generate(self, num_images: int, options: SamplingOptions,
                 on_step: Optional[ProgressCallback] = None) -> List[np.ndarray]:
        """Draws ``num_images`` images from an all-masked canvas.

        Returns:
            list[ndarray]: (H, W, 3) uint8 images, image i from the stream (seed, i).
        """
        if num_images < 1:
            raise InvalidInputError(f'ask for at least one image, got {num_images}')
        if num_images > self.limits.max_images:
            raise InvalidInputError(f'at most {self.limits.max_images} images at a time, got '
                                    f'{num_images}: ask for fewer')
        self.check_options(options)
        model = self.addp
        canvas = blank_canvas(model.neck.num_patches, self.image_size, self.device)
        with self._inference_lock:
            state = sample_images(model, options.sampler(), canvas, range(num_images),
                                  options.seed, options.class_label, on_step)
        return list(to_uint8(state.pixels))

    # Repaint -----------------------------------------------------------------------------

    @torch.no_grad()
    def repaint(self, image: np.ndarray, brush: np.ndarray, options: SamplingOptions,
                on_step: Optional[ProgressCallback] = None) -> RepaintResult:
        """Regenerates the tokens under ``brush`` and pastes them into the brushed pixels.

        Every token whose cell the brush touches is regenerated, given the others; only the
        brushed pixels take the new image, so the rest of the input is returned unchanged.

        Args:
            image (ndarray): (H0, W0, 3) uint8 with the model's aspect ratio, at least the
                model's size and at most ``limits.max_image_side`` a side.
            brush (ndarray): (H0, W0) bool, true where to repaint.
            options (SamplingOptions): Steps, temperature, seed, class and guidance.
            on_step (callable, optional): Progress, ``on_step(done, total)``.
        """
        self.check_image_size(*image.shape[:2])
        self.check_options(options)
        height, width = self.image_size
        self.check_repaint_input(image, brush)
        model = self.addp
        factor = model.tokenizer.downsample_factor
        keep = token_keep_mask(~brush, (height, width), factor, min_kept_fraction=1.0)
        if not keep.any():
            raise InvalidInputError('the brush covers every part of the image, so nothing is '
                                    'left to repaint from: use Generate for a new image, or '
                                    'brush less')
        with self._inference_lock:
            canvas = canvas_from_keep_mask(model.tokenizer, Image.fromarray(image), keep,
                                           (height, width), self.device)
            state = sample_images(model, options.sampler(), canvas, [0], options.seed,
                                  options.class_label, on_step)
        generated = Image.fromarray(to_uint8(state.pixels)[0])
        # Nearest keeps the sharp cells of an image shown at a whole multiple of the model's.
        generated = np.asarray(generated.resize((image.shape[1], image.shape[0]),
                                                Image.NEAREST))
        result = np.where(brush[..., None], generated, image)
        return RepaintResult(result, brush, (~keep).view(*model.tokenizer.grid_size(
            (height, width))).cpu().numpy())

    def check_repaint_input(self, image: np.ndarray, brush: np.ndarray) -> None:
        """Refuses, in one line each, what Repaint cannot use."""
        height, width = self.image_size
        if image.ndim != 3 or image.shape[2] != 3:
            raise InvalidInputError(f'Repaint needs an RGB image, got an array of shape '
                                    f'{image.shape}')
        image_h, image_w = image.shape[:2]
        if image_h < height or image_w < width:
            raise InvalidInputError(
                f'the image is {image_w}x{image_h} pixels but the model works at {width}x{height}:'
                f' upload one at least that large')
        if image_h * width != image_w * height:
            raise InvalidInputError(
                f'the image is {image_w}x{image_h} pixels; the model needs the aspect ratio of '
                f'{width}x{height}: crop it first, or take a generated image')
        if brush.shape != (image_h, image_w):
            raise InvalidInputError(f'the brush layer is {brush.shape[1]}x{brush.shape[0]} but '
                                    f'the image is {image_w}x{image_h}')
        if not brush.any():
            raise InvalidInputError('the brush layer is empty: brush over the part to repaint')

    # Classify ----------------------------------------------------------------------------

    @torch.no_grad()
    def classify(self, image: np.ndarray, top_k: int = 3) -> List[Tuple[str, float]]:
        """The classifier's ``top_k`` classes for one image, with their probabilities.

        Args:
            image (ndarray): (H, W, 3) uint8, any size: a drawing or an upload.
            top_k (int): How many classes to return.

        Returns:
            list[tuple[str, float]]: (class name, probability), most probable first.
        """
        self.check_image_size(*image.shape[:2])
        model = self.classifier
        size = self.classifier_input_size(model)
        picture = Image.fromarray(image).convert('RGB')
        if self.digit_grid:
            picture = self.as_digit(picture, size[0])
        pixels = resize_center_crop(picture, size)
        inputs = torch.from_numpy(np.array(pixels)).permute(2, 0, 1).to(self.device)
        with self._inference_lock:
            batch = model.data_preprocessor({'inputs': [inputs], 'data_samples': None}, False)
            probs = F.softmax(model(batch['inputs'], mode='tensor'), dim=-1)[0].float().cpu()
        top = probs.topk(min(top_k, probs.numel()))
        names = self._class_names or [str(i) for i in range(probs.numel())]
        return [(names[i], float(p)) for p, i in zip(top.values, top.indices)]

    def as_digit(self, picture: Image.Image, size: int) -> Image.Image:
        """A drawing or upload made like the training digits (see ``digit_grid``)."""
        grey = picture.convert('L')
        if np.asarray(grey).mean() > BRIGHT_BACKGROUND:
            grey = Image.fromarray(255 - np.asarray(grey))
        return upsample_digit(downsample_to_digit(fit_to_strokes(grey)), size).convert('RGB')

    @staticmethod
    def classifier_input_size(model) -> Tuple[int, int]:
        patch_grid = model.backbone.patch_resolution
        patch_size = model.backbone.patch_embed.patch_size
        return (patch_grid[0] * patch_size[0], patch_grid[1] * patch_size[1])


def fit_to_strokes(grey: Image.Image, margin: float = 0.15) -> Image.Image:
    """Crops a white-on-black drawing to a square around its strokes, with a margin on each
    side; a blank drawing is returned as it is."""
    rows, cols = np.nonzero(np.asarray(grey) > 32)
    if rows.size == 0:
        return grey
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    side = int(max(bottom - top, right - left) * (1 + 2 * margin))
    square = Image.new('L', (side, side))
    square.paste(grey.crop((left, top, right, bottom)),
                 ((side - (right - left)) // 2, (side - (bottom - top)) // 2))
    return square
