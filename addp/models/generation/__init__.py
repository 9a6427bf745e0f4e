from .sampler import SAMPLING_STRATEGIES, ADDPSampler, SamplerState, gumbel_noise
from .schedules import MASK_SCHEDULES, mask_ratio_at, num_masked_after_step

__all__ = [
    'ADDPSampler', 'SamplerState', 'gumbel_noise', 'SAMPLING_STRATEGIES', 'MASK_SCHEDULES',
    'mask_ratio_at', 'num_masked_after_step'
]
