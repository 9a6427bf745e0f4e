"""Standard Gumbel noise, as the samplers and the codebook restarts draw it."""
from typing import Optional, Sequence, Union

import torch


def standard_gumbel(shape: Sequence[int], device: Union[str, torch.device, None] = None,
                    generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Gumbel(0, 1) noise of ``shape``, drawn on ``device`` (from ``generator``, which must
    live there, or the device's default generator)."""
    uniform = torch.rand(shape, generator=generator, device=device)
    # Clamped away from 0, where -log(-log(u)) is infinite.
    uniform = uniform.clamp(torch.finfo(torch.float32).tiny, 1.)
    return -torch.log(-torch.log(uniform))
