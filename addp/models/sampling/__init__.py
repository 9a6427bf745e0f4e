from .sampler import (
    GUIDANCE_SCHEDULES,
    SAMPLING_STRATEGIES,
    ADDPSampler,
    SamplerState,
    generators_on,
    gumbel_noise,
)
from .schedules import MASK_SCHEDULES, mask_ratio_at, num_masked_after_step
from .token_predictor_sampling import TokenPredictorSamplingModel

__all__ = [
    'ADDPSampler', 'SamplerState', 'generators_on', 'gumbel_noise', 'SAMPLING_STRATEGIES',
    'GUIDANCE_SCHEDULES', 'MASK_SCHEDULES', 'mask_ratio_at', 'num_masked_after_step',
    'TokenPredictorSamplingModel'
]
