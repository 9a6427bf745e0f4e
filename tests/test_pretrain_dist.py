"""tools/dist_train.sh trains the demo config with two CPU processes over gloo."""
import os.path as osp
import socket
import subprocess

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
