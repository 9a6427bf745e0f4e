# Runtime of the tokenizer recipes: the shared one, plus a watch for a collapsed tokenizer
# (every image the same codes, or no better than the mean image). It warns in one line; set
# custom_hooks.2.stop=True (or edit here) to stop such a run instead.
_base_ = ['./default_runtime.py']

custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='RandomStateHook'),
    dict(type='TokenizerCollapseHook', interval=50, begin=0, patience=4, stop=False),
]
