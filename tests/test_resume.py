"""MMEngine checkpoints save and resume under torch's default ``weights_only=True``."""
import inspect

import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import addp.checkpoint  # noqa: F401  (allow-lists MMEngine's checkpoint types)


class _Regression(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, targets, mode='tensor'):
        loss = ((self.linear(inputs) - targets)**2).mean()
        return dict(loss=loss) if mode == 'loss' else [loss]


class _Points(Dataset):

    def __len__(self):
        return 32

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        x = torch.randn(4, generator=g)
        return dict(inputs=x, targets=x.sum(0, keepdim=True))


class _RecordLR(Hook):
    """Records the learning rate, iteration and optimizer state each iteration starts from."""

    def __init__(self):
        self.lrs, self.first_iter, self.first_state = [], None, None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.first_iter is None:
            self.first_iter = runner.iter
            state = runner.optim_wrapper.optimizer.state_dict()['state']
            self.first_state = {k: v.clone() for k, v in state.get(0, {}).items()}
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


def _train(work_dir, max_iters, resume=False):
    recorder = _RecordLR()
    runner = Runner(
        model=_Regression(), work_dir=str(work_dir), experiment_name=f'run{max_iters}{resume}',
        train_dataloader=dict(dataset=_Points(), sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate'), batch_size=4,
                              num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=6),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False)),
        custom_hooks=[recorder], resume=resume, default_scope='mmengine', randomness=dict(seed=0))
    runner.train()
    return runner, recorder


def test_torch_load_defaults_to_weights_only():
    default = inspect.signature(torch.load).parameters['weights_only'].default
    assert default in (None, True)  # None means True since torch 2.6


def test_resume_restores_iteration_optimizer_and_schedule(tmp_path):
    _, uninterrupted = _train(tmp_path / 'whole', max_iters=6)
    first, first_part = _train(tmp_path / 'split', max_iters=3)
    saved = torch.load(tmp_path / 'split' / 'iter_3.pth')  # weights_only by default
    assert saved['meta']['iter'] == 3

    second, second_part = _train(tmp_path / 'split', max_iters=6, resume=True)
    assert second_part.first_iter == 3
    assert second.iter == 6
    saved_state = saved['optimizer']['state'][0]
    assert set(second_part.first_state) == set(saved_state)
    for key, value in saved_state.items():
        assert torch.equal(second_part.first_state[key], value), key
    assert first_part.lrs + second_part.lrs == pytest.approx(uninterrupted.lrs, rel=1e-12)
