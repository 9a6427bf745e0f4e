"""Class labels as the class-conditional token predictor and decoder read them."""
from typing import Optional

import torch

from addp.errors import InvalidInputError

# A label that is not given, or dropped in training: the unconditional path of the same model.
NO_CLASS = -1


def check_class_labels(labels: torch.Tensor, num_classes: int) -> None:
    """Refuses labels outside ``0 .. num_classes - 1`` (and :data:`NO_CLASS`), in one line.

    Reads the labels on the host: called where labels enter (the data's labels before they
    move to the device, the sampler before its first step), never inside a step.

    Args:
        labels (Tensor): (B,) integer labels.
        num_classes (int): The classes the model was trained on.
    """
    unknown = sorted({int(v) for v in labels[(labels < NO_CLASS) | (labels >= num_classes)]})
    if unknown:
        raise InvalidInputError(
            f'class {unknown[0]} is not one this model knows: it was trained on classes '
            f'0-{num_classes - 1}; ask for one of those')


def class_slot_ids(labels: torch.Tensor, codebook_size: int, no_class_id: int) -> torch.Tensor:
    """Vocabulary ids of the labels' class slots, which follow the K codes.

    Runs inside every forward pass, so it reads nothing back from the device: the labels were
    checked with :func:`check_class_labels` where they entered.

    Args:
        labels (Tensor): (B,) labels in ``0 .. num_classes - 1`` or :data:`NO_CLASS`.
        codebook_size (int): K; class ``c`` is vocabulary id ``K + c``.
        no_class_id (int): The id that stands for a missing label.

    Returns:
        Tensor: (B,) vocabulary ids.
    """
    return torch.where(labels >= 0, codebook_size + labels, no_class_id)


def drop_class_labels(labels: torch.Tensor, drop_prob: float,
                      generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Replaces each label by :data:`NO_CLASS` with probability ``drop_prob``, so that one
    model learns the conditional and the unconditional distribution (classifier-free guidance).

    Args:
        labels (Tensor): (B,) labels.
        drop_prob (float): Share dropped, in [0, 1].
        generator (torch.Generator, optional): For reproducible draws; on the labels' device.
    """
    if not 0. <= drop_prob <= 1.:
        raise InvalidInputError(f'label_drop_prob must lie in [0, 1], got {drop_prob}')
    # Drawn where the labels are: a copy from the host would wait for the device.
    dropped = torch.rand(labels.shape, generator=generator, device=labels.device) < drop_prob
    return labels.masked_fill(dropped, NO_CLASS)
