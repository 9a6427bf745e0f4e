"""A run killed after a checkpoint and resumed ends exactly as an uninterrupted run."""
import glob
import json
import os.path as osp
import signal
import socket

import pytest
import torch
from pretrain_probes import REPO, run_train, write_config

from addp.checkpoint import read_checkpoint

EPOCHS = '''
train_cfg = dict(max_epochs=4)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=-1))
'''
# Iteration-based, with an endless sampler: resuming skips the batches already trained on.
ITERS = '''
train_dataloader = dict(sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=12)
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=12, T_max=12,
                        eta_min=0.)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=6, max_keep_ckpts=-1))
log_processor = dict(by_epoch=False)
'''
RUNTIME_HOOKS = "[dict(type='NonFiniteLossHook'), dict(type='RandomStateHook')]"
# Two dataloader processes, fresh each epoch, as the ImageNet recipes load.
WORKERS = "train_dataloader = dict(num_workers=2, persistent_workers=False)\n"
KILL_EPOCH = f"custom_hooks = {RUNTIME_HOOKS} + [dict(type='SigkillAfterEpochHook', epoch=2)]\n"
KILL_ITER = f"custom_hooks = {RUNTIME_HOOKS} + [dict(type='SigkillAfterIterHook', iter=6)]\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _launcher(processes, monkeypatch):
    if processes == 1:
        return None, ()
    monkeypatch.setenv('PORT', str(_free_port()))
    return ['bash', osp.join(REPO, 'tools', 'dist_train.sh')], (str(processes), )


def _logged(work_dir):
    """(iteration, loss, mask_ratio) of every logged iteration of every run in ``work_dir``."""
    rows = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            rows += [(r['step'], r['loss'], r['mask_ratio']) for r in map(json.loads, f)
                     if 'loss' in r]
    return rows


def _run(folder, body, processes, monkeypatch, *args):
    launcher, count = _launcher(processes, monkeypatch)
    config = write_config(str(folder / f'cfg{len(list(folder.iterdir()))}.py'), body)
    return run_train(str(folder), config, *count, '--work-dir', 'wd', *args, launcher=launcher,
                     timeout=240)


def _assert_same_weights(first, second):
    a, b = read_checkpoint(str(first))['state_dict'], read_checkpoint(str(second))['state_dict']
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


# The exact-resume switch (tools/train.py --deterministic): on a GPU the cases run with it are
# the ones that must be bit-exact; on the CPU they check that the switch changes nothing.
@pytest.mark.parametrize('loop, processes', [('epochs', 1), ('iters', 1), ('epochs', 2),
                                             ('epochs-workers', 1), ('iters-deterministic', 1),
                                             ('epochs-workers-deterministic', 1)])
def test_resumed_run_equals_uninterrupted_run(tmp_path, monkeypatch, loop, processes):
    body, kill, last = ((EPOCHS, KILL_EPOCH, 'epoch_4.pth') if loop.startswith('epochs') else
                        (ITERS, KILL_ITER, 'iter_12.pth'))
    if loop.startswith('epochs-workers'):
        body += WORKERS
    switch = ('--deterministic', ) if loop.endswith('deterministic') else ()
    whole, split = tmp_path / 'whole', tmp_path / 'split'
    whole.mkdir()
    split.mkdir()
    reference = _run(whole, body, processes, monkeypatch, *switch)
    assert reference.returncode == 0, reference.stderr[-3000:]
    killed = _run(split, body + kill, processes, monkeypatch, *switch)
    assert killed.returncode != 0
    if processes == 1:
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    resumed = _run(split, body, processes, monkeypatch, '--resume', *switch)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    saved = read_checkpoint(str(split / 'wd' / ('iter_6.pth' if loop.startswith('iters') else
                                                 'epoch_2.pth')))
    assert saved['random_states']['world_size'] == processes
    assert len(saved['random_states']['ranks']) == processes
    _assert_same_weights(whole / 'wd' / last, split / 'wd' / last)
    straight, pieces = _logged(whole / 'wd'), _logged(split / 'wd')
    # 32 images, 8 per process and step.
    assert len(straight) == (12 if loop.startswith('iters') else 16 // processes)
    assert pieces == straight


@pytest.mark.parametrize('how', ['flag', 'config'])
def test_the_deterministic_switch_is_applied_before_training(tmp_path, monkeypatch, how):
    monkeypatch.delenv('CUBLAS_WORKSPACE_CONFIG', raising=False)
    body = ("train_cfg = dict(max_epochs=1)\n"
            "custom_hooks = [dict(type='RecordDeterminismHook', out_file='switch.json')]\n")
    args = ('--deterministic', ) if how == 'flag' else (
        '--cfg-options', 'randomness.deterministic=True')
    result = run_train(str(tmp_path), write_config(str(tmp_path / 'a.py'), body),
                       '--work-dir', 'wd', *args)
    assert result.returncode == 0, result.stderr[-3000:]
    recorded = json.loads((tmp_path / 'switch.json').read_text())
    assert recorded == dict(algorithms=True, cublas=':4096:8', cudnn_deterministic=True,
                            cudnn_benchmark=False)
    # Without the switch the run keeps its fast kernels.
    plain = run_train(str(tmp_path), write_config(str(tmp_path / 'b.py'), body),
                      '--work-dir', 'wd2')
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert not json.loads((tmp_path / 'switch.json').read_text())['algorithms']


def test_checkpoint_without_random_states_resumes_with_a_notice(tmp_path):
    killed = run_train(str(tmp_path), write_config(str(tmp_path / 'a.py'), EPOCHS + KILL_EPOCH),
                       '--work-dir', 'wd')
    assert killed.returncode == -signal.SIGKILL
    checkpoint = tmp_path / 'wd' / 'epoch_2.pth'
    old = torch.load(checkpoint, map_location='cpu', weights_only=False)
    del old['random_states']
    torch.save(old, checkpoint)
    resumed = run_train(str(tmp_path), write_config(str(tmp_path / 'b.py'), EPOCHS),
                        '--work-dir', 'wd', '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert 'holds no random states (an older or official file)' in log
    assert osp.isfile(tmp_path / 'wd' / 'epoch_4.pth')


def test_another_world_size_resumes_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv('PORT', str(_free_port()))
    killed = run_train(str(tmp_path), write_config(str(tmp_path / 'a.py'), EPOCHS + KILL_EPOCH),
                       '2', '--work-dir', 'wd',
                       launcher=['bash', osp.join(REPO, 'tools', 'dist_train.sh')], timeout=240)
    assert killed.returncode != 0 and osp.isfile(tmp_path / 'wd' / 'epoch_2.pth')
    resumed = run_train(str(tmp_path), write_config(str(tmp_path / 'b.py'), EPOCHS),
                        '--work-dir', 'wd', '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert ('written by 2 processes and this run has 1: the random streams restart'
            in resumed.stdout + resumed.stderr)


CONFIGS = osp.join(REPO, 'configs', 'digits')


def _data_roots(root, *loaders):
    return ''.join(f'{loader} = dict(dataset=dict(data_root={root!r}))\n' for loader in loaders)


# The digits fine-tune recipe, validating (and so drawing from torch's
# generator) after the checkpoints of epochs 2 and 4, killed after epoch_4.pth.
FINETUNE = '''
model = dict(backbone=dict(init_cfg=None))
train_cfg = dict(max_epochs=6, val_interval=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=-1))
'''
# The tokenizer recipe: a 4-iteration autoencoder warm-up, k-means initialisation, codebook
# restarts and validation every 4 iterations, killed after iter_8.pth.
TOKENIZER = '''
model = dict(autoencoder_warmup_iters=4)
train_dataloader = dict(batch_size=16)
train_cfg = dict(max_iters=12, val_interval=4)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=4, max_keep_ckpts=-1))
'''


@pytest.mark.parametrize('recipe', ['finetune', 'tokenizer'])
def test_a_resumed_run_that_validates_equals_an_uninterrupted_one(tmp_path, digits_root,
                                                                 recipe):
    digits = digits_root
    if recipe == 'finetune':
        base = osp.join(CONFIGS, 'finetune_tiny_digits.py')
        body = FINETUNE + _data_roots(digits, 'train_dataloader', 'val_dataloader',
                                      'test_dataloader')
        kill, last = "[dict(type='SigkillAfterEpochHook', epoch=4)]", 'epoch_6.pth'
    else:
        base = osp.join(CONFIGS, 'vqgan_tiny_digits.py')
        body = TOKENIZER + _data_roots(digits, 'train_dataloader', 'val_dataloader')
        kill, last = "[dict(type='SigkillAfterIterHook', iter=8)]", 'iter_12.pth'
    kill = f'custom_hooks = {RUNTIME_HOOKS} + {kill}\n'
    runs = {}
    for name, extra, args in (('whole', '', ()), ('killed', kill, ()),
                              ('resumed', '', ('--resume', ))):
        folder = tmp_path / ('whole' if name == 'whole' else 'split')
        folder.mkdir(exist_ok=True)
        config = write_config(str(folder / f'{name}.py'), body + extra, base=base)
        runs[name] = run_train(str(folder), config, '--work-dir', 'wd', *args, timeout=300)
    assert runs['whole'].returncode == 0, runs['whole'].stderr[-3000:]
    assert runs['killed'].returncode == -signal.SIGKILL, runs['killed'].stderr[-3000:]
    assert runs['resumed'].returncode == 0, runs['resumed'].stderr[-3000:]
    _assert_same_weights(tmp_path / 'whole' / 'wd' / last, tmp_path / 'split' / 'wd' / last)


def test_resuming_with_another_config_names_the_changed_entries(tmp_path):
    killed = run_train(str(tmp_path), write_config(str(tmp_path / 'a.py'), EPOCHS + KILL_EPOCH),
                       '--work-dir', 'wd')
    assert killed.returncode == -signal.SIGKILL
    changed = EPOCHS.replace('max_epochs=4', 'max_epochs=5') + (
        'optim_wrapper = dict(optimizer=dict(lr=5e-4))\n')
    resumed = run_train(str(tmp_path), write_config(str(tmp_path / 'b.py'), changed),
                        '--work-dir', 'wd', '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    warning = [line for line in resumed.stdout.splitlines() if 'another config' in line]
    assert len(warning) == 1
    assert f"resuming {tmp_path / 'wd' / 'epoch_2.pth'}, which was written with another " \
           'config: ' in warning[0].replace('wd/./', 'wd/')
    assert 'optim_wrapper.optimizer.lr: 0.001 -> 0.0005' in warning[0]
    assert 'train_cfg.max_epochs: 4 -> 5' in warning[0]
    assert 'work_dir' not in warning[0]


def test_a_config_that_leaves_out_the_random_state_hook_keeps_it(tmp_path):
    body = EPOCHS + "custom_hooks = [dict(type='NonFiniteLossHook')]\n"
    result = run_train(str(tmp_path), write_config(str(tmp_path / 'a.py'), body),
                       '--work-dir', 'wd')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'custom_hooks has no RandomStateHook: added one' in result.stdout
    assert read_checkpoint(str(tmp_path / 'wd' / 'epoch_1.pth'))['random_states']
