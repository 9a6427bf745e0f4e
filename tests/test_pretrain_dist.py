"""tools/dist_train.sh trains the smoke-run config with two CPU processes over gloo."""
import json
import os.path as osp
import socket
import subprocess
import time

import torch
from pretrain_probes import REPO, run_train, write_config

from addp.checkpoint import read_checkpoint


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_slurm_train_script_parses():
    subprocess.run(['bash', '-n', osp.join(REPO, 'tools', 'slurm_train.sh')], check=True)


def test_dist_train_two_processes(tmp_path, monkeypatch):
    config = write_config(str(tmp_path / 'cfg.py'), 'train_cfg = dict(max_epochs=1)\n'
                          'default_hooks = dict(logger=dict(interval=1))\n')
    monkeypatch.setenv('PORT', str(_free_port()))
    result = run_train(str(tmp_path), config, '2', '--work-dir', 'wd',
                       launcher=['bash', osp.join(REPO, 'tools', 'dist_train.sh')])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    # 32 images, 8 per process and step: two processes share an epoch in 2 steps.
    assert 'Epoch(train) [1][2/2]' in log
    progress = [line for line in log.splitlines() if 'Epoch(train) [1][2/2]' in line][0]
    for field in ('lr:', 'eta:', 'time:', 'grad_norm:', 'loss:', 'mask_ratio:'):
        assert field in progress, field
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    checkpoint = read_checkpoint(str(tmp_path / 'wd' / 'epoch_1.pth'))
    assert checkpoint['meta']['iter'] == 2
    assert not [k for k in checkpoint['state_dict'] if k.startswith('tokenizer.')]


def _dist(tmp_path, monkeypatch, body, *args):
    """tools/dist_train.sh with two processes on the smoke-run config plus ``body``."""
    monkeypatch.setenv('PORT', str(_free_port()))
    config = write_config(str(tmp_path / 'cfg.py'), body)
    return run_train(str(tmp_path), config, '2', '--work-dir', 'wd', *args,
                     launcher=['bash', osp.join(REPO, 'tools', 'dist_train.sh')], timeout=240)


def _assert_no_abort(result):
    log = result.stdout + result.stderr
    assert 'terminate called' not in log and 'exitcode: -6' not in log, log[-3000:]


def test_bad_input_ends_every_rank_in_one_line_and_leaves_the_group(tmp_path, monkeypatch):
    result = _dist(tmp_path, monkeypatch,
                   "model = dict(tokenizer=dict(checkpoint='missing/vqgan.ckpt'))\n"
                   "runner_type = 'Runner'\n")
    assert result.returncode != 0
    _assert_no_abort(result)
    lines = [line for line in result.stderr.splitlines() if 'train.py: error:' in line]
    assert len(lines) == 2 and "checkpoint file not found: 'missing/vqgan.ckpt'" in lines[0]
    assert 'exitcode  : 2' in result.stderr


def test_ctrl_c_leaves_the_group_on_every_rank(tmp_path, monkeypatch):
    result = _dist(tmp_path, monkeypatch, "custom_hooks = [dict(type='RandomStateHook'), "
                   "dict(type='CtrlCAfterIterHook', iter=3)]\n")
    assert result.returncode != 0
    _assert_no_abort(result)
    assert 'Epoch(train)  [3]' not in result.stdout  # it stopped in epoch 2


def _assert_every_rank_ended_quickly(result, seconds, limit=60):
    log = result.stdout + result.stderr
    assert result.returncode != 0, log[-3000:]
    assert seconds < limit, f'the launch took {seconds:.0f} s: a rank waited for one that stopped'
    _assert_no_abort(result)
    # torchrun returns once every rank has ended, and lists each that ended non-zero.
    for rank in (0, 1):
        assert f'rank      : {rank} (local_rank: {rank})' in result.stderr, log[-3000:]


def test_a_collapse_on_one_rank_stops_every_rank_within_seconds(tmp_path, monkeypatch):
    start = time.perf_counter()
    result = _dist(tmp_path, monkeypatch, "train_cfg = dict(max_epochs=3)\n"
                   "custom_hooks = [dict(type='CollapseOnRankHook', rank=1), "
                   "dict(type='TokenizerCollapseHook', interval=1, stop=True)]\n")
    _assert_every_rank_ended_quickly(result, time.perf_counter() - start)
    stops = [line for line in (result.stdout + result.stderr).splitlines()
             if 'Tokenizer collapse:' in line]
    # Both ranks stop at iteration 1 on one agreed verdict, each in one line.
    assert len(stops) == 2, stops
    assert any('at iteration 1 the batch PSNR 5.00 dB is below the 12.00 dB' in line
               for line in stops)
    assert any('at iteration 1, on another rank, the batch PSNR is below' in line
               for line in stops)
    assert 'Epoch(train) [1][2/2]' not in result.stdout


def test_an_error_on_one_rank_ends_every_rank_within_seconds(tmp_path, monkeypatch):
    start = time.perf_counter()
    result = _dist(tmp_path, monkeypatch, "train_cfg = dict(max_epochs=3)\n"
                   "custom_hooks = [dict(type='RaiseOnRankHook', rank=1, iter=3)]\n")
    _assert_every_rank_ended_quickly(result, time.perf_counter() - start)
    assert 'RuntimeError: probe failure on rank 1 at iteration 3' in result.stderr
    assert 'Epoch(train) [3][' not in result.stdout


def test_test_tool_runs_on_two_cpu_processes(tmp_path, monkeypatch, digits_root):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from addp.registry import MODELS
    config = osp.join(REPO, 'configs', 'digits', 'finetune_tiny_digits.py')
    cfg = Config.fromfile(config)
    init_default_scope('addp')
    torch.manual_seed(0)
    classifier = MODELS.build(dict(cfg.model, backbone=dict(cfg.model.backbone, init_cfg=None)))
    checkpoint = str(tmp_path / 'classifier.pth')
    torch.save({'state_dict': classifier.state_dict(), 'meta': {}}, checkpoint)
    monkeypatch.setenv('PORT', str(_free_port()))
    result = run_train(str(tmp_path), config, checkpoint, '2', '--work-dir', 'wd',
                       '--out', str(tmp_path / 'metrics.json'), '--out-item', 'metrics',
                       '--cfg-options', f'test_dataloader.dataset.data_root={digits_root}',
                       'model.backbone.init_cfg=None',
                       launcher=['bash', osp.join(REPO, 'tools', 'dist_test.sh')], timeout=240)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    _assert_no_abort(result)
    assert 'Distributed training: True' in result.stdout
    with open(tmp_path / 'metrics.json') as f:
        assert 0 <= json.load(f)['accuracy/top1'] <= 100
