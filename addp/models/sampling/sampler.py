"""Iterative ADDP sampling: pixels to token logits to sampled tokens to the next pixels."""
from typing import Callable, List, NamedTuple, Optional, Sequence, Union

import torch

from addp.errors import InvalidInputError
from addp.host_values import host_value

from ..layers import NO_CLASS, check_class_labels, shared_row_count, standard_gumbel
from .schedules import MASK_SCHEDULES, num_masked_after_step

SAMPLING_STRATEGIES = ('categorical', 'top_p', 'argmax')
GUIDANCE_SCHEDULES = ('constant', 'linear')


class SamplerState(NamedTuple):
    """The state between two steps.

    Attributes:
        pixels (Tensor): (B, 3, H, W) decoded from the current latent (zeros on a blank
            canvas, where nothing is known yet).
        token_ids (Tensor): (B, N) known or sampled tokens.
        mask (Tensor): (B, N) bool, true where still masked.
        logits (Tensor, optional): (B, N, K) logits of the step that produced this state.
        num_masked (int, optional): Tokens masked in every row, known on the host, so that a
            step need not read the mask back from the device; None where rows differ.
    """
    pixels: torch.Tensor
    token_ids: torch.Tensor
    mask: torch.Tensor
    logits: Optional[torch.Tensor] = None
    num_masked: Optional[int] = None


def gumbel_noise(shape: Sequence[int], generators: Optional[List[torch.Generator]],
                 device: torch.device) -> torch.Tensor:
    """Standard Gumbel noise of ``shape`` (B, ...) on ``device``.

    Sample i is drawn from ``generators[i]``, so that it does not depend on the batch it
    shares. Each generator draws where it lives: generators on ``device`` (see
    :func:`generators_on`) draw there, and CPU generators draw on the CPU, whose noise is then
    copied over (on a GPU, a copy that waits for the device). Without generators the noise
    comes from ``device``'s default generator.
    """
    if generators is None:
        return standard_gumbel(shape, device)
    return torch.stack([standard_gumbel(shape[1:], g.device, g) for g in generators]).to(device)


def generators_on(generators: Optional[List[torch.Generator]],
                  device: torch.device) -> Optional[List[torch.Generator]]:
    """Per-image generators that draw on ``device``, so that sampling steps draw their noise
    there instead of copying it from the host.

    On the CPU the generators are returned as they are, and so are generators already on a
    device. Elsewhere a CPU generator ``generators[i]`` gives image i a generator on ``device``
    seeded from one draw of it: the image's noise is still a function of that generator
    alone, whatever batch or process it is drawn in, though not the numbers the CPU generator
    would draw.
    """
    device = torch.device(device)
    if generators is None or device.type == 'cpu':
        return generators
    return [g if g.device.type != 'cpu' else torch.Generator(device).manual_seed(
        host_value(torch.randint(2**62, (), generator=g))) for g in generators]


class ADDPSampler:
    """Generates tokens and pixels with a trained ADDP model.

    Each step reads like the paper's inference figure: the encoder reads the current pixels,
    the decoder predicts every masked token, masked tokens are sampled, the least confident
    are masked again (confidence plus Gumbel noise scaled by the choice temperature, count
    from the schedule), and the tokenizer decodes a latent that is soft where still masked and
    exact where fixed. Known tokens are never masked again.

    With class labels, a class-conditional model is guided without a classifier: each step
    takes ``uncond + w * (cond - uncond)`` of the logits with and without the label. Labels
    enter the decoder only, so the encoder reads the B images once and the decoder runs on 2B
    rows, the conditional ones and the unconditional ones. ``w = 1`` is plain conditional
    sampling and ``w = 0`` unconditional sampling with the label dropped; neither needs the
    second half of the decoder batch.

    A step reads nothing back from the device: the number of masked tokens follows from the
    schedule on the host, the noise is drawn on the device, and class labels are checked
    once, before the first step.

    Args:
        num_steps (int): Decoding steps. Released: 20 (256 with the linear schedule).
        schedule (str): ``'cosine'`` or ``'linear'``.
        choice_temperature (float): Scale of the Gumbel noise on confidences. Released: 6.0.
        temperature_strategy (str): ``'dynamic'`` anneals it linearly to 0; ``'static'``
            keeps it.
        sampling (str): ``'categorical'``, ``'top_p'`` (nucleus) or ``'argmax'``.
        top_p (float): Nucleus mass for ``'top_p'``.
        cfg_scale (float): Guidance scale w for class-conditional sampling.
        cfg_schedule (str): ``'constant'`` keeps w at every step; ``'linear'`` ramps it from
            1 towards w over the steps (w at the last), as MUSE and MAR do, so that the early
            steps, which fix the layout, stay diverse.
    """

    def __init__(self,
                 num_steps: int = 20,
                 schedule: str = 'cosine',
                 choice_temperature: float = 6.0,
                 temperature_strategy: str = 'dynamic',
                 sampling: str = 'categorical',
                 top_p: float = 1.0,
                 cfg_scale: float = 1.0,
                 cfg_schedule: str = 'constant') -> None:
        if schedule not in MASK_SCHEDULES:
            raise InvalidInputError(f'schedule must be one of {MASK_SCHEDULES}, got {schedule!r}')
        if temperature_strategy not in ('dynamic', 'static'):
            raise InvalidInputError('temperature_strategy must be "dynamic" or "static", got '
                                    f'{temperature_strategy!r}')
        if sampling not in SAMPLING_STRATEGIES:
            raise InvalidInputError(
                f'sampling must be one of {SAMPLING_STRATEGIES}, got {sampling!r}')
        if cfg_schedule not in GUIDANCE_SCHEDULES:
            raise InvalidInputError(
                f'cfg_schedule must be one of {GUIDANCE_SCHEDULES}, got {cfg_schedule!r}')
        if cfg_scale < 0:
            raise InvalidInputError(f'cfg_scale must be at least 0, got {cfg_scale}')
        if num_steps < 1:
            raise InvalidInputError(f'num_steps must be at least 1, got {num_steps}')
        self.num_steps = num_steps
        self.schedule = schedule
        self.choice_temperature = choice_temperature
        self.temperature_strategy = temperature_strategy
        self.sampling = sampling
        self.top_p = top_p
        self.cfg_scale = cfg_scale
        self.cfg_schedule = cfg_schedule

    @property
    def guided(self) -> bool:
        """Whether the recipe mixes in unconditional logits (a scale other than 1)."""
        return self.cfg_scale != 1.

    def guidance_scale(self, step: int) -> float:
        """The guidance scale w at 0-based ``step``."""
        if self.cfg_schedule == 'constant':
            return self.cfg_scale
        return 1. + (self.cfg_scale - 1.) * (step + 1) / self.num_steps

    def check_labels(self, model, labels: Optional[torch.Tensor]) -> None:
        """Refuses classes or guidance that ``model`` cannot serve, in one line."""
        if labels is None:
            if self.guided:
                raise InvalidInputError(
                    f'a guidance scale ({self.cfg_scale}) needs classes to guide towards; '
                    'ask for classes, or leave the scale at 1')
            return
        if not getattr(model, 'class_conditional', False):
            raise InvalidInputError(
                'this checkpoint is unconditional: it cannot take classes or guidance. Sample '
                'without them, or train a class-conditional model '
                '(projects/digits_study/configs/addp_tiny_digits_cond.py)')
        check_class_labels(labels, model.num_classes)

    def guided_logits(self, model, state: SamplerState, step: int,
                      labels: Optional[torch.Tensor]) -> torch.Tensor:
        """(B, N, K) logits of one step: unconditional, conditional or guided.

        Args:
            model: Has ``predict_token_logits(pixels, token_ids, mask, labels=None,
                num_masked=None)``, which takes R label rows per image and returns R * B rows.
            state (SamplerState): Current pixels, tokens and mask.
            step (int): 0-based step index, for the guidance schedule.
            labels (Tensor, optional): (B,) classes; None for unconditional sampling.
        """
        def logits(label_rows: Optional[torch.Tensor]) -> torch.Tensor:
            return model.predict_token_logits(state.pixels, state.token_ids, state.mask,
                                              label_rows, num_masked=state.num_masked)

        if labels is None:
            return logits(None)
        scale = self.guidance_scale(step)
        if scale == 1.:
            return logits(labels)
        unconditional = torch.full_like(labels, NO_CLASS)
        if scale == 0.:
            return logits(unconditional)
        cond, uncond = logits(torch.cat([labels, unconditional])).float().chunk(2)
        return uncond + scale * (cond - uncond)

    def sample_tokens(self, logits: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Draws one code per position from logits (B, N, K) with Gumbel noise (B, N, K)."""
        if self.sampling == 'argmax':
            return logits.argmax(dim=-1)
        if self.sampling == 'top_p':
            probs = logits.softmax(dim=-1)
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            # Keep the smallest prefix whose mass reaches top_p (always the first code).
            outside = (sorted_probs.cumsum(-1) - sorted_probs) >= self.top_p
            drop = torch.zeros_like(outside).scatter(-1, order, outside)
            logits = logits.masked_fill(drop, float('-inf'))
        return (logits + noise).argmax(dim=-1)

    def initial_state(self, model, token_ids: torch.Tensor, mask: torch.Tensor,
                      image_size: Sequence[int]) -> SamplerState:
        """The starting canvas: known tokens exactly, masked ones as the mean code.

        The decoder never reads encoder features at masked positions, so an all-masked canvas
        makes the first step depend on nothing but the model: its pixels are left blank
        (zeros) rather than decoded. The masked count is read here, once, so that the steps
        need not read it.
        """
        mask = mask.bool()
        num_masked = shared_row_count(mask)
        if num_masked == mask.shape[1]:
            codebook = model.tokenizer.codebook
            pixels = codebook.new_zeros(mask.shape[0], 3, *image_size)
        else:
            grid = model.tokenizer.grid_size(image_size)
            pixels = model.tokenizer.decode_token_state(token_ids, mask, grid)
        return SamplerState(pixels, token_ids, mask, num_masked=num_masked)

    @torch.no_grad()
    def step(self, model, state: SamplerState, step: int,
             num_unknown: Union[int, torch.Tensor],
             generators: Optional[List[torch.Generator]] = None,
             labels: Optional[torch.Tensor] = None) -> SamplerState:
        """One denoising step.

        Args:
            model (ADDP): The trained model (tokenizer, encoder, decoder).
            state (SamplerState): Current pixels, tokens and mask.
            step (int): 0-based step index.
            num_unknown (int | Tensor): Tokens masked at the start of sampling: one count for
                every row, or (B,) per row. With a count and ``state.num_masked`` the step
                never reads the mask back from the device.
            generators (list[torch.Generator], optional): One per sample, for noise that does
                not depend on the batch composition; on the model's device for noise that is
                not copied (:func:`generators_on`).
            labels (Tensor, optional): (B,) classes of a class-conditional model, checked
                beforehand (:meth:`check_labels`).

        Returns:
            SamplerState: The next state, with this step's logits.
        """
        logits = self.guided_logits(model, state, step, labels)
        B, N, K = logits.shape
        device = logits.device
        sampled = self.sample_tokens(logits, gumbel_noise((B, N, K), generators, device))
        token_ids = torch.where(state.mask, sampled, state.token_ids)

        probs = logits.float().softmax(dim=-1)
        confidence = torch.log(probs.gather(-1, token_ids.unsqueeze(-1)).squeeze(-1))
        temperature = self.choice_temperature
        if self.temperature_strategy == 'dynamic':
            temperature *= 1. - (step + 1) / self.num_steps
        confidence = confidence + temperature * gumbel_noise((B, N), generators, device)
        confidence = confidence.masked_fill(~state.mask, float('inf'))

        rank = confidence.argsort(dim=1).argsort(dim=1)
        if isinstance(num_unknown, int) and state.num_masked is not None:
            num_masked = num_masked_after_step(step, self.num_steps, num_unknown,
                                               state.num_masked, self.schedule)
            mask = rank < num_masked
        else:
            counts = num_masked_after_step(step, self.num_steps, torch.as_tensor(num_unknown),
                                           state.mask.sum(dim=1), self.schedule)
            mask, num_masked = rank < counts.to(device).unsqueeze(1), None

        grid = model.tokenizer.grid_size(state.pixels.shape[-2:])
        pixels = model.tokenizer.decode_token_state(token_ids, mask, grid, probs)
        return SamplerState(pixels, token_ids, mask, logits, num_masked)

    @torch.no_grad()
    def generate(self, model, token_ids: torch.Tensor, mask: torch.Tensor,
                 image_size: Sequence[int],
                 generators: Optional[List[torch.Generator]] = None,
                 labels: Optional[torch.Tensor] = None,
                 on_step: Optional[Callable[[int, int], None]] = None) -> SamplerState:
        """Runs every step from a canvas of known tokens and a mask.

        Args:
            model (ADDP): The trained model.
            token_ids (Tensor): (B, N) known tokens; masked entries are ignored.
            mask (Tensor): (B, N), true where the token is to be generated. All true for
                unconditional sampling.
            image_size (Sequence[int]): (H, W) of the images.
            generators (list[torch.Generator], optional): One per sample, on the CPU or on
                the model's device; each image's noise depends on its generator alone.
            labels (Tensor, optional): (B,) classes to draw, for a class-conditional model.
            on_step (callable, optional): Called as ``on_step(steps_done, num_steps)`` after
                each step, for progress bars.

        Returns:
            SamplerState: Final pixels (B, 3, H, W) and tokens (B, N).
        """
        self.check_labels(model, labels)
        state = self.initial_state(model, token_ids, mask, image_size)
        num_unknown = state.num_masked
        if num_unknown is None:
            num_unknown = state.mask.sum(dim=1)
        generators = generators_on(generators, state.pixels.device)
        for step in range(self.num_steps):
            state = self.step(model, state, step, num_unknown, generators, labels)
            if on_step is not None:
                on_step(step + 1, self.num_steps)
        return state
