"""Tiny untrained digits models, written to files: what the demo's tests and load test serve.

They sample, repaint and classify in milliseconds on a CPU, so a test measures the page and
its queue rather than the model.
"""
import contextlib
import importlib.util
import logging
import os
import os.path as osp
from typing import Dict, List, Sequence

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from addp.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
ADDP_CONFIGS = dict(unconditional=osp.join(REPO, 'configs/digits/addp_tiny_digits.py'),
                    conditional=osp.join(REPO, 'projects/digits_study/configs',
                                         'addp_tiny_digits_cond.py'))
CLASSIFIER_CONFIG = osp.join(REPO, 'configs/digits/finetune_tiny_digits.py')


@contextlib.contextmanager
def quiet_weight_init():
    """Silences MMEngine's INFO lines while weights are initialised: for random weights, the
    line it writes about each parameter says nothing."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def write_tiny_models(root: str, kinds: Sequence[str] = tuple(ADDP_CONFIGS),
                      seed: int = 0) -> Dict:
    """Writes random-weight ADDP models of ``kinds`` and a classifier under ``root``.

    The classifier's head is initialised broadly enough that it prefers some classes.

    Returns:
        dict: For each kind, its ``addp`` and ``tokenizer`` files; under ``classifier``, the
        classifier's file.
    """
    spec = importlib.util.spec_from_file_location(
        'write_untrained', osp.join(REPO, 'tools', 'write_untrained.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with quiet_weight_init():
        files: Dict = {kind: tool.write_untrained(ADDP_CONFIGS[kind], osp.join(root, kind),
                                                  seed) for kind in kinds}
        cfg = Config.fromfile(CLASSIFIER_CONFIG)
        init_default_scope('addp')
        cfg.model.backbone.init_cfg = None
        torch.manual_seed(seed)
        classifier = MODELS.build(cfg.model)
        classifier.init_weights()
    torch.nn.init.normal_(classifier.head.fc.weight, std=0.5)
    files['classifier'] = osp.join(root, 'classifier.pth')
    os.makedirs(root, exist_ok=True)
    torch.save({'state_dict': classifier.state_dict()}, files['classifier'])
    return files


def launch_arguments(files: Dict, kind: str = 'unconditional') -> List[str]:
    """The ``launch.py`` arguments that serve the tiny models of ``kind`` in ``files``."""
    return ['--config', ADDP_CONFIGS[kind], '--checkpoint', files[kind]['addp'],
            '--cfg-options', f'model.tokenizer.checkpoint={files[kind]["tokenizer"]}',
            '--classifier-config', CLASSIFIER_CONFIG,
            '--classifier-checkpoint', files['classifier'], '--digit-grid', '8']
