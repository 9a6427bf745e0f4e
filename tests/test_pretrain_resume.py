"""A run killed with SIGKILL after a checkpoint continues from it with ``--resume``."""
import json
import os.path as osp
import signal
from concurrent.futures import ThreadPoolExecutor

import torch
from pretrain_probes import run_train, write_config

import addp.checkpoint  # noqa: F401  (reads MMEngine checkpoints under weights_only)

RUN = '''
train_cfg = dict(max_epochs=4)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=-1))
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='RecordLrHook', out_file='lr.jsonl'),
    dict(type='DumpStartStateHook', out_file='start_state.pth'),
]
'''


def _lrs(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_sigkill_then_resume_continues_at_the_checkpoint(tmp_path):
    whole, split = tmp_path / 'whole', tmp_path / 'split'
    whole.mkdir()
    split.mkdir()
    whole_cfg = write_config(str(whole / 'cfg.py'), RUN)
    killed_cfg = write_config(
        str(split / 'cfg.py'), RUN + "custom_hooks.append(dict(type='SigkillAfterEpochHook', "
        'epoch=2))\n')
    resumed_cfg = write_config(str(split / 'resumed.py'), RUN)

    # The uninterrupted reference and the run to kill use separate folders; run them together.
    with ThreadPoolExecutor(2) as pool:
        reference = pool.submit(run_train, str(whole), whole_cfg, '--work-dir', 'wd')
        killed = run_train(str(split), killed_cfg, '--work-dir', 'wd')
        reference = reference.result()
    assert reference.returncode == 0, reference.stderr[-3000:]
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    work_dir = split / 'wd'
    assert (work_dir / 'epoch_2.pth').is_file() and not (work_dir / 'epoch_3.pth').exists()
    first_piece = _lrs(split / 'lr.jsonl')
    (split / 'lr.jsonl').unlink()

    resumed = run_train(str(split), resumed_cfg, '--work-dir', 'wd', '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'Auto resumed from the latest checkpoint' in resumed.stdout + resumed.stderr

    # The loop starts where the checkpoint left off, with its optimizer and scheduler state.
    saved = torch.load(work_dir / 'epoch_2.pth', map_location='cpu')
    start = torch.load(split / 'start_state.pth', map_location='cpu')
    saved_position = (saved['meta']['iter'], saved['meta']['epoch'])
    assert (start['iter'], start['epoch']) == (8, 2) == saved_position
    assert start['param_schedulers'] == saved['param_schedulers']
    assert start['optimizer']['param_groups'] == saved['optimizer']['param_groups']
    saved_state = saved['optimizer']['state']
    assert saved_state and start['optimizer']['state'].keys() == saved_state.keys()
    for index, state in saved_state.items():
        for name, value in state.items():
            assert torch.equal(start['optimizer']['state'][index][name], value), (index, name)

    # The lr of every iteration equals that of the uninterrupted run.
    second_piece = _lrs(split / 'lr.jsonl')
    assert [r['iter'] for r in first_piece] == list(range(1, 9))
    assert [r['iter'] for r in second_piece] == list(range(9, 17))
    assert first_piece + second_piece == _lrs(whole / 'lr.jsonl')
    assert osp.isfile(work_dir / 'epoch_4.pth')
