"""Exact fp32 for the computations whose results are discrete: the frozen tokenizer's token
search.

A leaf module (torch only). On Ampere and later GPUs, cuDNN runs fp32 convolutions in TF32 by
default (a 10-bit mantissa), and autocast runs them in bf16 or fp16; either moves encoder
latents enough to flip near-ties between codes, so the tokens (training targets, and the
tokens a run reports) would depend on the GPU and the precision flags. :func:`exact_fp32`
pins IEEE fp32 for a block and puts every flag back afterwards.
"""
from contextlib import ExitStack, contextmanager
from typing import Iterator, List, Tuple

import torch

# (backend namespace, attribute) pairs of PyTorch's per-operation precision flags (torch>=2.9).
_PRECISION_FLAGS = (('cudnn.conv', 'fp32_precision'), ('cuda.matmul', 'fp32_precision'),
                    ('mkldnn.conv', 'fp32_precision'), ('mkldnn.matmul', 'fp32_precision'))
# The flags that older PyTorch has instead.
_LEGACY_FLAGS = (('cudnn', 'allow_tf32'), ('cuda.matmul', 'allow_tf32'))


def _namespace(path: str):
    namespace = torch.backends
    for name in path.split('.'):
        namespace = getattr(namespace, name, None)
        if namespace is None:
            return None
    return namespace


def _flags() -> List[Tuple[object, str, object]]:
    """(namespace, attribute, IEEE fp32 value) of every flag this PyTorch has.

    The per-operation flags where they exist: from PyTorch 2.9 reading the legacy
    ``allow_tf32`` flags raises once a per-operation flag was set, while these read and
    write whatever API set them.
    """
    found = [(_namespace(path), name, 'ieee') for path, name in _PRECISION_FLAGS]
    found = [(namespace, name, value) for namespace, name, value in found
             if namespace is not None and hasattr(namespace, name)]
    if found:
        return found
    return [(_namespace(path), name, False) for path, name in _LEGACY_FLAGS]


@contextmanager
def exact_fp32(device_type: str) -> Iterator[None]:
    """IEEE fp32 inside the block: no TF32 in cuDNN convolutions or cuBLAS matrix products,
    no reduced-precision oneDNN modes, and autocast off on ``device_type``; every flag is put
    back on exit, also after an exception.

    Tensors made under autocast elsewhere still come in as they are; cast them with
    ``.float()`` inside the block.

    Args:
        device_type (str): ``'cuda'``, ``'cpu'``, ... where autocast is turned off.
    """
    saved = [(namespace, name, getattr(namespace, name)) for namespace, name, _ in _flags()]
    with ExitStack() as stack:
        stack.callback(lambda: [setattr(ns, name, value) for ns, name, value in saved])
        for namespace, name, value in _flags():
            setattr(namespace, name, value)
        stack.enter_context(torch.autocast(device_type, enabled=False))
        yield
