"""Reading values that live on the host, which never waits for a device.

A leaf module (torch only). Tensor-to-Python conversions (``item``, ``int``, ``bool``,
``tolist``) of a device tensor make the host wait until the device has finished every queued
kernel. Some draws, such as a batch's mask ratio from torch's CPU generator, live on the host
by design; they are read through :func:`host_value`, which refuses device tensors, so that a
read there can never become a device synchronisation.
"""
from typing import Union

import torch


def host_value(tensor: torch.Tensor) -> Union[int, float, bool]:
    """The Python number of a one-element tensor on the CPU.

    Args:
        tensor (Tensor): One element, on the CPU.

    Raises:
        TypeError: For a tensor on another device (numpy reads host memory only).
    """
    return tensor.detach().numpy().item()
