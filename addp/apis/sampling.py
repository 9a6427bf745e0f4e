"""Building an ADDP model for sampling and drawing reproducible images with it."""
import contextlib
import copy
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from addp.checkpoint import load_addp_checkpoint
from addp.errors import InvalidInputError
from addp.models import ADDP
from addp.models.sampling import ADDPSampler, SamplerState, TokenPredictorSamplingModel
from addp.registry import MODELS

from .canvas import Canvas

AMP_DTYPES = ('none', 'bfloat16', 'float16')


def autocast_context(device: Union[str, torch.device],
                     amp_dtype: str = 'none') -> contextlib.AbstractContextManager:
    """``torch.autocast`` on ``device`` in ``amp_dtype`` (one of :data:`AMP_DTYPES`), or a
    context that changes nothing for ``'none'``."""
    if amp_dtype == 'none':
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=getattr(torch, amp_dtype))


def sampling_image_size(model) -> Tuple[int, int]:
    """The (H, W) an ADDP model generates, after checking that its parts agree on it.

    Tokens and encoder patches must correspond one to one on the grid the decoder was built
    for: the decoder's position embeddings fix the token count.

    Raises:
        ValueError: Naming the disagreeing sizes.
    """
    backbone, neck, tokenizer = model.backbone, model.neck, model.tokenizer
    patch_grid = tuple(backbone.patch_resolution)
    patch_size = tuple(backbone.patch_embed.patch_size)
    image_size = (patch_grid[0] * patch_size[0], patch_grid[1] * patch_size[1])
    factor = tokenizer.downsample_factor
    token_grid = tokenizer.grid_size(image_size)
    problems = []
    if image_size[0] % factor or image_size[1] % factor:
        problems.append(f'the image size {image_size} is not a multiple of the tokenizer '
                        f'downsample factor {factor}')
    if token_grid != patch_grid:
        problems.append(f'the tokenizer makes a {token_grid} token grid from {image_size} '
                        f'images but the encoder a {patch_grid} patch grid (patch size '
                        f'{patch_size}, tokenizer factor {factor})')
    if token_grid[0] * token_grid[1] != neck.num_patches:
        problems.append(f'the decoder is built for {neck.num_patches} tokens but {image_size} '
                        f'images give {token_grid[0] * token_grid[1]}')
    if problems:
        raise InvalidInputError(
            'the model config does not fit one image size: ' + '; '.join(problems) +
            '. Set model.backbone.img_size, model.neck.num_patches and the '
            'tokenizer to the sizes the checkpoint was trained with.')
    return image_size


def build_sampling_model(config: Union[str, Config], checkpoint: str,
                         cfg_options: Optional[dict] = None,
                         device: Union[str, torch.device] = 'cpu') -> torch.nn.Module:
    """An ADDP model ready to sample: frozen tokenizer from the config, weights from
    ``checkpoint`` (official or MMEngine format), no token predictor, eval mode.

    Args:
        config (str | Config): A config with an ``ADDP`` ``model``.
        checkpoint (str): Loaded strictly.
        cfg_options (dict, optional): Overrides merged into the config.
        device (str | torch.device): Where to run.

    Raises:
        ValueError: When the model's parts disagree on the image size.
        CheckpointKeyError: When the checkpoint does not fit the model.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.model.get('type') != 'ADDP':
        raise InvalidInputError(
            f'the config must define an ADDP model, got {cfg.model.get("type")!r}')
    init_default_scope(cfg.get('default_scope', 'addp'))
    model = MODELS.build(ADDP.inference_config(cfg.model))
    sampling_image_size(model)
    load_addp_checkpoint(model, checkpoint, strict=True)
    return model.to(device).eval()


def build_token_predictor_sampling_model(config: Union[str, Config],
                                         cfg_options: Optional[dict] = None,
                                         device: Union[str, torch.device] = 'cpu'
                                         ) -> TokenPredictorSamplingModel:
    """The frozen tokenizer and token predictor of an ADDP config, ready for MaskGIT-style
    sampling by :class:`ADDPSampler` without the ADDP encoder (the MAGE baseline).

    Args:
        config (str | Config): A config with an ``ADDP`` ``model`` whose ``tokenizer`` and
            ``token_predictor`` name their checkpoints.
        cfg_options (dict, optional): Overrides merged into the config.
        device (str | torch.device): Where to run.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'addp'))
    model = TokenPredictorSamplingModel(MODELS.build(cfg.model.tokenizer),
                                        MODELS.build(cfg.model.token_predictor))
    return model.to(device).eval()


def image_generator(seed: int, index: int, class_label: Optional[int] = None) -> torch.Generator:
    """The random stream of image ``index``: a function of (seed, index) alone, so that an
    image is the same whatever batch or process draws it. Each class has streams of its own,
    so that the images of two classes are independent draws."""
    entropy = [seed, index] if class_label is None else [seed, index, class_label]
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def sample_images(model, sampler: ADDPSampler, canvas: Canvas, indices: Sequence[int],
                  seed: int, class_label: Optional[int] = None,
                  on_step: Optional[Callable[[int, int], None]] = None) -> SamplerState:
    """Samples one image per index from ``canvas``.

    Args:
        model (ADDP): From :func:`build_sampling_model`.
        sampler (ADDPSampler): The decoding recipe.
        canvas (Canvas): Shared by every sample of the batch.
        indices (Sequence[int]): Global image indices; each seeds its own generator.
        seed (int): The run's seed.
        class_label (int, optional): The class every sample is drawn from, for a
            class-conditional model (guided as ``sampler`` says).
        on_step (callable, optional): ``on_step(steps_done, num_steps)`` after each step.

    Returns:
        SamplerState: Pixels (B, 3, H, W) and tokens (B, N) in the order of ``indices``.
    """
    generators: List[torch.Generator] = [image_generator(seed, i, class_label) for i in indices]
    batch = len(indices)
    token_ids = canvas.token_ids.expand(batch, -1)
    mask = canvas.mask.expand(batch, -1)
    labels = None if class_label is None else torch.full(
        (batch, ), class_label, dtype=torch.long, device=mask.device)
    return sampler.generate(model, token_ids, mask, canvas.image_size, generators=generators,
                            labels=labels, on_step=on_step)
