"""A non-finite loss stops pretraining and leaves the checkpoints on disk as they were."""
import hashlib
import json
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from pretrain_probes import run_train, write_config

from addp.checkpoint import load_addp_checkpoint
from addp.engine import NonFiniteLossError, NonFiniteLossHook
from addp.registry import MODELS


def _fake_runner(tmp_path, iteration=5):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    return SimpleNamespace(iter=iteration, epoch=1, work_dir=str(tmp_path),
                           optim_wrapper=OptimWrapper(optimizer),
                           logger=MMLogger.get_current_instance())


@pytest.mark.parametrize('value', [float('nan'), float('inf'), float('-inf')])
def test_hook_names_the_iteration_of_a_non_finite_loss(tmp_path, value):
    hook = NonFiniteLossHook()
    runner = _fake_runner(tmp_path)
    with pytest.raises(NonFiniteLossError, match=r'Loss is -?(nan|inf) at iteration 6 \(epoch 2\)'):
        hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(value)))


def test_hook_passes_finite_losses_and_stops_without_fp16_scaler(tmp_path):
    runner = _fake_runner(tmp_path)
    NonFiniteLossHook().after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(2.5)))
    # Tolerance only applies under an fp16 loss scaler; fp32 still stops.
    with pytest.raises(NonFiniteLossError):
        NonFiniteLossHook().after_train_iter(
            runner, 0, outputs=dict(loss=torch.tensor(float('nan'))))


def _fp16_runner(tmp_path, dtype=torch.float16):
    runner = _fake_runner(tmp_path)
    wrapper = object.__new__(AmpOptimWrapper)  # its constructor insists on a GPU
    wrapper.loss_scaler = SimpleNamespace(is_enabled=lambda: dtype == torch.float16)
    wrapper.cast_dtype = dtype
    runner.optim_wrapper = wrapper
    return runner


def test_hook_warns_under_fp16_loss_scaler_unless_told_to_stop(tmp_path):
    runner = _fp16_runner(tmp_path)
    nan = dict(loss=torch.tensor(float('nan')))
    NonFiniteLossHook().after_train_iter(runner, 0, outputs=nan)
    with pytest.raises(NonFiniteLossError):
        NonFiniteLossHook(tolerate_in_fp16=False).after_train_iter(runner, 0, outputs=nan)
    # No scaler skips bf16 steps.
    with pytest.raises(NonFiniteLossError):
        NonFiniteLossHook().after_train_iter(_fp16_runner(tmp_path, torch.bfloat16), 0,
                                             outputs=nan)


def test_a_long_run_of_skipped_fp16_steps_stops(tmp_path):
    runner = _fp16_runner(tmp_path)
    hook = NonFiniteLossHook(max_skipped_steps=3)
    nan, finite = dict(loss=torch.tensor(float('nan'))), dict(loss=torch.tensor(1.))
    for outputs in (nan, nan, finite, nan, nan):  # a finite loss starts the count afresh
        hook.after_train_iter(runner, 0, outputs=outputs)
    with pytest.raises(NonFiniteLossError, match='the loss scaler skipped 3 fp16 steps in a '
                       'row; stopping'):
        hook.after_train_iter(runner, 0, outputs=nan)


def _amp_run(tmp_path, dtype):
    config = write_config(str(tmp_path / 'cfg.py'), f'''
optim_wrapper = dict(type='CpuAmpOptimWrapper', dtype='{dtype}')
train_cfg = dict(max_epochs=3)
default_hooks = dict(checkpoint=dict(interval=3))
custom_hooks = [dict(type='NonFiniteLossHook'), dict(type='InjectNaNLossHook', at_iter=6)]
''')
    return run_train(str(tmp_path), config, '--work-dir', 'wd')


def test_an_fp16_run_skips_a_nan_step_and_trains_on(tmp_path):
    result = _amp_run(tmp_path, 'float16')
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'Loss is nan at iteration 6 (epoch 2); the fp16 loss scaler skips this step' in log
    saved = torch.load(tmp_path / 'wd' / 'epoch_3.pth', map_location='cpu', weights_only=False)
    assert saved['meta']['iter'] == 12
    assert saved['optimizer']['loss_scaler']['scale'] < 2.**16  # lowered by the skipped step
    assert all(torch.isfinite(v).all() for v in saved['state_dict'].values())


def test_a_bf16_run_stops_at_a_nan_loss(tmp_path):
    result = _amp_run(tmp_path, 'bfloat16')
    assert result.returncode == 1
    assert 'Loss is nan at iteration 6 (epoch 2); stopping.' in result.stdout + result.stderr
    assert not (tmp_path / 'wd' / 'epoch_3.pth').exists()


def test_nan_loss_stops_the_run_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    # 4 iterations per epoch, a checkpoint per epoch; the NaN hits the last iteration of epoch
    # 2, right before epoch_2.pth would be written.
    config = write_config(str(tmp_path / 'cfg.py'), '''
train_cfg = dict(max_epochs=3)
default_hooks = dict(checkpoint=dict(interval=1))
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='InjectNaNLossHook', at_iter=8),
    dict(type='HashCheckpointsHook', out_file='hashes.json'),
]
''')
    result = run_train(str(tmp_path), config, '--work-dir', 'wd')
    assert result.returncode == 1
    assert 'Loss is nan at iteration 8 (epoch 2); stopping.' in result.stdout + result.stderr

    work_dir = tmp_path / 'wd'
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['epoch_1.pth']
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith('epoch_1.pth')
    recorded = json.loads((tmp_path / 'hashes.json').read_text())
    now = hashlib.sha256((work_dir / 'epoch_1.pth').read_bytes()).hexdigest()
    assert recorded == {'epoch_1.pth': now}

    # The kept checkpoint loads into a freshly built model and holds finite weights.
    monkeypatch.chdir(tmp_path)  # the smoke run's frozen files, written by the run
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    load_addp_checkpoint(model, str(work_dir / 'epoch_1.pth'))
    assert all(torch.isfinite(p).all() for p in model.parameters())
