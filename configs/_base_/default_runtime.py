# Runtime shared by ADDP recipes: mmpretrain scope, ADDP registries, logging, checkpoints.
default_scope = 'addp'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # Every 50 iterations, as the official loop prints: time, eta, lr, loss, grad_norm and the
    # model's other outputs (ADDP logs its sampled mask_ratio).
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
# Stop at the first NaN/inf loss before anything saves that iteration; keep every rank's random
# states in checkpoints, so that --resume continues the same run.
custom_hooks = [dict(type='NonFiniteLossHook'), dict(type='RandomStateHook')]

env_cfg = dict(
    cudnn_benchmark=True,  # as the official pretraining
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'

load_from = None
resume = False
# The official runs seed each rank with seed + rank.
randomness = dict(seed=0, diff_rank_seed=True)
