# Runtime of the tokenizer recipes: the shared one, plus a watch for a collapsed tokenizer
# (every image the same codes, or no better than the mean image). It warns in one line; set
# custom_hooks.2.stop=True (or edit here) to stop such a run instead. Its checks start 200
# iterations after the autoencoder warm-up: the fresh codes need them to separate images.
_base_ = ['./default_runtime.py']

custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='RandomStateHook'),
    dict(type='TokenizerCollapseHook', interval=50, begin_after_warmup=200, patience=4,
         stop=False),
    # The codebook sits out the autoencoder warm-up (find_unused_parameters in the model
    # config); afterwards DDP stops searching for unused parameters.
    dict(type='UnusedParametersAfterWarmupHook'),
]
