"""Class labels for the class-conditional training steps, read from mmpretrain data samples."""
from typing import Optional, Sequence

import torch

from addp.errors import InvalidInputError

from ..layers import drop_class_labels
from ..target_generators.interface import config_value


def check_same_conditioning(first: dict, second: dict, names: str) -> None:
    """Refuses two part configs that disagree on ``class_conditional`` or ``num_classes``.

    Args:
        first (dict): A part config (e.g. the decoder's).
        second (dict): Another (e.g. the token predictor's).
        names (str): The two config keys, for the message.
    """
    if not config_value(first, 'class_conditional') and \
            not config_value(second, 'class_conditional'):
        return
    settings = [(config_value(cfg, 'class_conditional'), config_value(cfg, 'num_classes'))
                for cfg in (first, second)]
    if settings[0] != settings[1]:
        raise InvalidInputError(
            f'{names} disagree on class conditioning (class_conditional, num_classes): '
            f'{settings[0]} and {settings[1]}; a class-conditional model needs a '
            'class-conditional token predictor on the same classes')


def training_labels(data_samples: Optional[Sequence], num_classes: int, drop_prob: float,
                    device: torch.device) -> torch.Tensor:
    """(B,) the batch's class labels, each dropped to the unconditional path with
    ``drop_prob``.

    Nothing here reads the labels back from the device: their range is asserted on the
    device without waiting for it (``tools/train.py`` checks the data's classes against the
    model's before training, with a message that names the fix), and the dropout is drawn
    where the labels are.

    Args:
        data_samples (Sequence[DataSample]): With ``gt_label``, as mmpretrain's
            ``CustomDataset`` gives from class folders.
        num_classes (int): The classes the model knows.
        drop_prob (float): Label dropout.
        device (torch.device): Where the labels go.
    """
    if not data_samples or any('gt_label' not in sample for sample in data_samples):
        raise InvalidInputError(
            'this model is class-conditional but the data has no labels: lay the images out '
            'as DATA/train/<class>/*.png and set train_dataloader.dataset.with_label=True')
    labels = torch.cat([sample.gt_label.view(-1)[:1] for sample in data_samples])
    labels = labels.to(device, non_blocking=True)
    torch._assert_async(((labels >= 0) & (labels < num_classes)).all(),
                        f'a training label lies outside the model\'s classes 0-{num_classes - 1}; '
                        'set num_classes of the decoder and token predictor to the data\'s')
    return drop_class_labels(labels, drop_prob)
