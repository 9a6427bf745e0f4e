"""Pretraining checkpoints hold what training changes; the frozen parts come from their files."""
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS
from pretrain_probes import run_train, write_config

from addp.checkpoint import read_checkpoint

FROZEN = ('tokenizer.', 'token_predictor.')


def _nbytes(tensors):
    return sum(t.numel() * t.element_size() for t in tensors)


@pytest.fixture
def trained(tmp_path, monkeypatch):
    """One smoke-run epoch (4 iterations) run in-process in ``tmp_path``; returns its runner."""
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(write_config(str(tmp_path / 'cfg.py'), 'train_cfg = dict(max_epochs=1)\n'
                                       'default_hooks = dict(checkpoint=dict(interval=1))\n'))
    cfg.work_dir = str(tmp_path / 'wd')
    runner = RUNNERS.build(cfg)
    runner.train()
    return runner


def test_checkpoint_excludes_frozen_parts(trained, tmp_path):
    path = tmp_path / 'wd' / 'epoch_1.pth'
    checkpoint = read_checkpoint(str(path))
    model = trained.model
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    frozen = [p for n, p in model.named_parameters() if n.startswith(FROZEN)]
    assert frozen and not any(p.requires_grad for p in frozen)

    state_dict = checkpoint['state_dict']
    assert not [k for k in state_dict if k.startswith(FROZEN)]
    assert set(state_dict) == set(trainable)
    for name, value in state_dict.items():
        assert torch.equal(value, trainable[name].detach()), name

    # The optimizer holds AdamW moments of the trainable parameters only.
    moments = [s['exp_avg'] for s in checkpoint['optimizer']['state'].values()]
    assert len(moments) == len(trainable)
    trainable_bytes, frozen_bytes = _nbytes(trainable.values()), _nbytes(frozen)
    assert _nbytes(state_dict.values()) == trainable_bytes
    # Weights and two moments, plus bookkeeping, but far from the frozen parts' bytes.
    size = os.path.getsize(path)
    assert 3 * trainable_bytes < size < 3 * trainable_bytes + frozen_bytes / 2


def test_resume_rebuilds_frozen_parts_from_their_files(trained, tmp_path):
    frozen_file = tmp_path / 'data' / 'addp_smoke' / 'frozen' / 'tiny_vqgan.ckpt'
    on_disk = read_checkpoint(str(frozen_file))
    tokenizer = trained.model.tokenizer.state_dict()
    assert on_disk.keys() == tokenizer.keys()
    assert all(torch.equal(on_disk[k], tokenizer[k]) for k in on_disk)

    # Without its file, resuming stops at model build and names the file.
    cfg = Config.fromfile(str(tmp_path / 'cfg.py'))
    cfg.work_dir = str(tmp_path / 'wd')
    cfg.resume = True
    cfg.runner_type = 'Runner'  # the smoke runner would write the file again
    frozen_file.unlink()
    with pytest.raises(FileNotFoundError, match='tiny_vqgan.ckpt'):
        RUNNERS.build(cfg)


def test_train_reports_missing_frozen_file_before_loading_data(tmp_path):
    config = write_config(str(tmp_path / 'cfg.py'), '''
runner_type = 'Runner'
model = dict(tokenizer=dict(checkpoint='missing/vqgan_jax_strongaug.ckpt'))
train_dataloader = dict(dataset=dict(data_root='missing_dataset'))
''')
    result = run_train(str(tmp_path), config, '--work-dir', 'wd')
    # The dataset folder is missing too: loading data first would fail on it instead.
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith('train.py: error: ')
    assert "checkpoint file not found: 'missing/vqgan_jax_strongaug.ckpt'" in last_line
    assert not list((tmp_path / 'wd').glob('*.pth'))
