"""tools/train.py maps its options onto the config as mmpretrain's does, plus --amp-dtype."""
import os.path as osp
import sys

import pytest
from mmengine.config import Config
from pretrain_probes import REPO
from tool_modules import load_tool


@pytest.fixture(scope='module')
def train_tool():
    return load_tool('train')


def _merged(train_tool, monkeypatch, config, *argv):
    monkeypatch.setattr(sys, 'argv', ['train.py', config, *argv])
    args = train_tool.parse_args()
    return train_tool.merge_args(Config.fromfile(config), args)


SMOKE = osp.join(REPO, 'configs', 'addp', 'smoke_tiny.py')
BASE = osp.join(REPO, 'configs', 'addp', 'pretrain_base.py')


def test_defaults_and_work_dir(train_tool, monkeypatch):
    cfg = _merged(train_tool, monkeypatch, SMOKE)
    assert cfg.work_dir == osp.join('./work_dirs', 'smoke_tiny')
    assert cfg.optim_wrapper.type == 'OptimWrapper' and cfg.resume is False
    cfg = _merged(train_tool, monkeypatch, SMOKE, '--work-dir', 'out', '--cfg-options',
                  'train_cfg.max_epochs=3', 'model.tokenizer.checkpoint=x.ckpt')
    assert (cfg.work_dir, cfg.train_cfg.max_epochs) == ('out', 3)
    assert cfg.model.tokenizer.checkpoint == 'x.ckpt'


def test_resume_options(train_tool, monkeypatch):
    cfg = _merged(train_tool, monkeypatch, SMOKE, '--resume')
    assert cfg.resume is True and cfg.load_from is None  # latest in the work dir
    cfg = _merged(train_tool, monkeypatch, SMOKE, '--resume', 'wd/epoch_3.pth')
    assert cfg.resume is True and cfg.load_from == 'wd/epoch_3.pth'


def test_amp_options(train_tool, monkeypatch):
    cfg = _merged(train_tool, monkeypatch, SMOKE, '--amp')
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.loss_scale) == ('AmpOptimWrapper', 'dynamic')
    # The released fp16 scaler settings of a config are kept.
    cfg = _merged(train_tool, monkeypatch, BASE, '--amp')
    assert cfg.optim_wrapper.loss_scale == dict(growth_interval=500)
    assert cfg.optim_wrapper.dtype == 'float16'
    cfg = _merged(train_tool, monkeypatch, BASE, '--amp-dtype', 'bfloat16')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.optim_wrapper.loss_scale == dict(enabled=False)
