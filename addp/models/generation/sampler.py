"""Iterative ADDP sampling: pixels to token logits to sampled tokens to the next pixels."""
from typing import List, NamedTuple, Optional, Sequence

import torch

from addp.errors import InvalidInputError

from .schedules import MASK_SCHEDULES, num_masked_after_step

SAMPLING_STRATEGIES = ('categorical', 'top_p', 'argmax')


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

    Args:
        num_steps (int): Decoding steps. Released: 20 (256 with the linear schedule).
        schedule (str): ``'cosine'`` or ``'linear'``.
        choice_temperature (float): Scale of the Gumbel noise on confidences. Released: 6.0.
        temperature_strategy (str): ``'dynamic'`` anneals it linearly to 0; ``'static'``
            keeps it.
        sampling (str): ``'categorical'``, ``'top_p'`` (nucleus) or ``'argmax'``.
        top_p (float): Nucleus mass for ``'top_p'``.
    """

    def __init__(self,
                 num_steps: int = 20,
                 schedule: str = 'cosine',
                 choice_temperature: float = 6.0,
                 temperature_strategy: str = 'dynamic',
                 sampling: str = 'categorical',
                 top_p: float = 1.0) -> None:
        if schedule not in MASK_SCHEDULES:
            raise InvalidInputError(f'schedule must be one of {MASK_SCHEDULES}, got {schedule!r}')
        if temperature_strategy not in ('dynamic', 'static'):
            raise InvalidInputError('temperature_strategy must be "dynamic" or "static", got '
                                    f'{temperature_strategy!r}')
        if sampling not in SAMPLING_STRATEGIES:
            raise InvalidInputError(
                f'sampling must be one of {SAMPLING_STRATEGIES}, got {sampling!r}')
        if num_steps < 1:
            raise InvalidInputError(f'num_steps must be at least 1, got {num_steps}')
        self.num_steps = num_steps
        self.schedule = schedule
        self.choice_temperature = choice_temperature
        self.temperature_strategy = temperature_strategy
        self.sampling = sampling
        self.top_p = top_p

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
             generators: Optional[List[torch.Generator]] = None) -> SamplerState:
        """One denoising step.

        Args:
            model (ADDP): The trained model (tokenizer, encoder, decoder).
            state (SamplerState): Current pixels, tokens and mask.
            step (int): 0-based step index.
            num_unknown (Tensor): (B,) tokens masked at the start of sampling.
            generators (list[torch.Generator], optional): One per sample, for noise that does
                not depend on the batch composition.

        Returns:
            SamplerState: The next state, with this step's logits.
        """
        logits = model.predict_token_logits(state.pixels, state.token_ids, state.mask)
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
                 generators: Optional[List[torch.Generator]] = None) -> SamplerState:
        """Runs every step from a canvas of known tokens and a mask.

        Args:
            model (ADDP): The trained model.
            token_ids (Tensor): (B, N) known tokens; masked entries are ignored.
            mask (Tensor): (B, N), true where the token is to be generated. All true for
                unconditional sampling.
            image_size (Sequence[int]): (H, W) of the images.
            generators (list[torch.Generator], optional): One per sample.

        Returns:
            SamplerState: Final pixels (B, 3, H, W) and tokens (B, N).
        """
        state = self.initial_state(model, token_ids, mask, image_size)
        num_unknown = state.mask.sum(dim=1)
        for step in range(self.num_steps):
            state = self.step(model, state, step, num_unknown, generators)
        return state
