"""Iterative ADDP sampling: pixels to token logits to sampled tokens to the next pixels."""
from typing import Callable, List, NamedTuple, Optional, Sequence

import torch

from addp.errors import InvalidInputError

from ..layers import NO_CLASS, check_class_labels
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
    """
    pixels: torch.Tensor
    token_ids: torch.Tensor
    mask: torch.Tensor
    logits: Optional[torch.Tensor] = None


def gumbel_noise(shape: Sequence[int], generators: Optional[List[torch.Generator]],
                 device: torch.device) -> torch.Tensor:
    """Standard Gumbel noise of ``shape`` (B, ...); sample i is drawn from ``generators[i]`` so
    that it does not depend on the batch it shares."""
    if generators is None:
        uniform = torch.rand(shape)
    else:
        uniform = torch.stack([torch.rand(shape[1:], generator=g) for g in generators])
    uniform = uniform.clamp(torch.finfo(torch.float32).tiny, 1.)
    return -torch.log(-torch.log(uniform)).to(device)


class ADDPSampler:
    """Generates tokens and pixels with a trained ADDP model.

    Each step reads like the paper's inference figure: the encoder reads the current pixels,
    the decoder predicts every masked token, masked tokens are sampled, the least confident
    are masked again (confidence plus Gumbel noise scaled by the choice temperature, count
    from the schedule), and the tokenizer decodes a latent that is soft where still masked and
    exact where fixed. Known tokens are never masked again.

    With class labels, a class-conditional model is guided without a classifier: each step
    takes ``uncond + w * (cond - uncond)`` of the logits with and without the label, both
    from one batch of twice the size. ``w = 1`` is plain conditional sampling and ``w = 0``
    unconditional sampling with the label dropped; neither needs the second pass.

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
            model: Has ``predict_token_logits(pixels, token_ids, mask, labels=None)``.
            state (SamplerState): Current pixels, tokens and mask.
            step (int): 0-based step index, for the guidance schedule.
            labels (Tensor, optional): (B,) classes; None for unconditional sampling.
        """
        if labels is None:
            return model.predict_token_logits(state.pixels, state.token_ids, state.mask)
        scale = self.guidance_scale(step)
        if scale == 1.:
            return model.predict_token_logits(state.pixels, state.token_ids, state.mask, labels)
        if scale == 0.:
            return model.predict_token_logits(state.pixels, state.token_ids, state.mask,
                                              torch.full_like(labels, NO_CLASS))
        both = model.predict_token_logits(
            state.pixels.repeat(2, 1, 1, 1), state.token_ids.repeat(2, 1),
            state.mask.repeat(2, 1), torch.cat([labels, torch.full_like(labels, NO_CLASS)]))
        cond, uncond = both.float().chunk(2)
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
        (zeros) rather than decoded.
        """
        mask = mask.bool()
        if mask.all():
            codebook = model.tokenizer.codebook
            pixels = codebook.new_zeros(mask.shape[0], 3, *image_size)
        else:
            grid = model.tokenizer.grid_size(image_size)
            pixels = model.tokenizer.decode_token_state(token_ids, mask, grid)
        return SamplerState(pixels, token_ids, mask)

    @torch.no_grad()
    def step(self, model, state: SamplerState, step: int, num_unknown: torch.Tensor,
             generators: Optional[List[torch.Generator]] = None,
             labels: Optional[torch.Tensor] = None) -> SamplerState:
        """One denoising step.

        Args:
            model (ADDP): The trained model (tokenizer, encoder, decoder).
            state (SamplerState): Current pixels, tokens and mask.
            step (int): 0-based step index.
            num_unknown (Tensor): (B,) tokens masked at the start of sampling.
            generators (list[torch.Generator], optional): One per sample, for noise that does
                not depend on the batch composition.
            labels (Tensor, optional): (B,) classes of a class-conditional model.

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

        num_masked = num_masked_after_step(step, self.num_steps, num_unknown,
                                           state.mask.sum(dim=1), self.schedule)
        rank = confidence.argsort(dim=1).argsort(dim=1)
        mask = rank < num_masked.to(device).unsqueeze(1)

        grid = model.tokenizer.grid_size(state.pixels.shape[-2:])
        pixels = model.tokenizer.decode_token_state(token_ids, mask, grid, probs)
        return SamplerState(pixels, token_ids, mask, logits)

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
            generators (list[torch.Generator], optional): One per sample.
            labels (Tensor, optional): (B,) classes to draw, for a class-conditional model.
            on_step (callable, optional): Called as ``on_step(steps_done, num_steps)`` after
                each step, for progress bars.

        Returns:
            SamplerState: Final pixels (B, 3, H, W) and tokens (B, N).
        """
        self.check_labels(model, labels)
        state = self.initial_state(model, token_ids, mask, image_size)
        num_unknown = state.mask.sum(dim=1)
        for step in range(self.num_steps):
            state = self.step(model, state, step, num_unknown, generators, labels)
            if on_step is not None:
                on_step(step + 1, self.num_steps)
        return state
