import pytest
import torch
from mmengine.registry import init_default_scope

import addp.models  # noqa: F401
from addp.registry import MODELS
from addp.testing import make_tiny_frozen_checkpoints, tiny_addp_cfg


@pytest.fixture(autouse=True)
def _addp_scope():
    """ADDP configs resolve ADDP modules and mmpretrain's data preprocessors and datasets."""
    init_default_scope('addp')


@pytest.fixture(scope='session')
def tiny_frozen_files(tmp_path_factory):
    """Tiny tokenizer and token-predictor files in the released layouts."""
    return make_tiny_frozen_checkpoints(str(tmp_path_factory.mktemp('frozen')))


@pytest.fixture
def tiny_cfg(tiny_frozen_files):
    return tiny_addp_cfg(tiny_frozen_files['vqgan'], tiny_frozen_files['mage'])


@pytest.fixture
def tiny_model(tiny_cfg):
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg)
    model.init_weights()
    return model
