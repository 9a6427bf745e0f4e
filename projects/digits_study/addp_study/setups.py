"""The studies run here: each one's recipes, data, lengths and judge, in one place.

``digits`` is the record of the 4 x 4 / 32 layout on scikit-learn's digits. ``mnist_grid8`` is
the study on MNIST-5k at the fine layout (an 8 x 8 grid of 256 codes, 4 px patches), and
``mnist_grid4`` its matched arm: ADDP at the 4 x 4 / 32 layout on the same data, steps and
lengths, so that the curves and one table isolate the layout.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from . import DEMO_CONFIGS, STUDY_CONFIGS

MNIST_CONFIGS = osp.join(STUDY_CONFIGS, 'mnist')


@dataclass(frozen=True)
class StudySetup:
    """What one study reads.

    Args:
        name (str): The ``--setup`` name.
        layout (str): Its token layout, as the pictures name it.
        addp_config (str): ADDP's pretraining recipe: sampling and the batch size.
        finetune_configs (dict): (setting, method) -> fine-tuning recipe; ADDP's also serve
            random initialisation, and MAE's all-label run takes ADDP's with MAE's backbone.
        judge (str): ``'digits'`` (8 x 8, fitted on the digits' train split) or ``'mnist'``
            (14 x 14, fitted on the train part of MNIST's train split).
        data_root (str): The image folder (tools/prepare_bundled_data.py).
        iters (tuple): The pretraining lengths read, in checkpoint iterations.
        methods (tuple): The pretraining methods measured at each length.
        all_labels_at_every_length (bool): Fine-tune with all labels at every length, or
            only at the longest (where the targets read it; these runs are most of the
            measuring time) and for random initialisation.
        matched (str, optional): The setup of the matched arm, measured in the work dir's
            sub-folder of that name.
    """

    name: str
    layout: str
    addp_config: str
    finetune_configs: Dict[Tuple[str, str], str]
    judge: str
    data_root: str
    iters: Tuple[int, ...]
    methods: Tuple[str, ...] = ('addp', 'mae')
    all_labels_at_every_length: bool = True
    matched: Optional[str] = None


DIGITS_FINETUNE = {
    ('finetune_10_labels', 'addp'): osp.join(DEMO_CONFIGS, 'finetune_tiny_digits.py'),
    ('finetune_10_labels', 'mae'): osp.join(STUDY_CONFIGS, 'finetune_tiny_digits_mae.py'),
    ('finetune_all_labels', 'addp'): osp.join(STUDY_CONFIGS, 'finetune_tiny_digits_all_labels.py'),
}
SETUPS = {setup.name: setup for setup in (
    StudySetup('digits', '4 x 4 grid of 32 codes',
               osp.join(STUDY_CONFIGS, 'addp_tiny_digits_long.py'), DIGITS_FINETUNE,
               judge='digits', data_root='data/digits', iters=(600, 3000, 6000, 9000)),
    StudySetup('mnist_grid8', '8 x 8 grid of 256 codes',
               osp.join(MNIST_CONFIGS, 'addp_tiny_mnist_grid8.py'), {
                   ('finetune_10_labels', 'addp'):
                   osp.join(MNIST_CONFIGS, 'finetune_tiny_mnist_grid8.py'),
                   ('finetune_10_labels', 'mae'):
                   osp.join(MNIST_CONFIGS, 'finetune_tiny_mnist_grid8_mae.py'),
                   ('finetune_all_labels', 'addp'):
                   osp.join(MNIST_CONFIGS, 'finetune_tiny_mnist_grid8_all_labels.py'),
               }, judge='mnist', data_root='data/mnist', iters=(600, 1200, 1800),
               all_labels_at_every_length=False, matched='mnist_grid4'),
    StudySetup('mnist_grid4', '4 x 4 grid of 32 codes',
               osp.join(MNIST_CONFIGS, 'addp_tiny_mnist.py'), DIGITS_FINETUNE,
               judge='mnist', data_root='data/mnist', iters=(600, 1200, 1800),
               methods=('addp', ), all_labels_at_every_length=False),
)}
