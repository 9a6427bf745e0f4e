"""A shortened class-conditional digits run through the tools: the judge sees the asked class.

The tokenizer, the class-conditional token predictor and class-conditional ADDP are trained on
scikit-learn's digits with their recipes' schedules shortened, exported as the study does, and
sampled with ``tools/generate.py --classes``; the project's judge labels the samples.
"""
import glob
import os
import os.path as osp
import subprocess
import sys

import numpy as np
from mmengine.config import Config

from addp.datasets import load_digits_split
from projects.digits_study.addp_study import DEMO_CONFIGS, REPO, STUDY_CONFIGS, report
from projects.digits_study.addp_study.judge import DigitsJudge

ITERS = dict(tokenizer=400, token_predictor=400, addp=300)
PER_CLASS = 10
GUIDANCE = '3'
# Chance is 10%. Measured on one CPU at these lengths: 92% (70-100% per digit); the margin
# leaves room for the rounding of other CPUs.
MIN_AGREEMENT = 0.5


def _run(*args):
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


def _train(config, work_dir, iters, *options):
    """Trains ``config`` for ``iters`` steps on its own schedule, shortened; returns the
    last checkpoint."""
    warmup = Config.fromfile(config).param_scheduler[0]['end']
    _run('tools/train.py', config, '--work-dir', work_dir, '--cfg-options',
         f'train_cfg.max_iters={iters}', f'param_scheduler.1.end={iters}',
         f'param_scheduler.1.T_max={iters - warmup}', f'default_hooks.checkpoint.interval={iters}',
         'randomness.seed=0', *options)
    return osp.join(work_dir, f'iter_{iters}.pth')


def _export(checkpoint, kind, out):
    _run('tools/convert_official_checkpoint.py', checkpoint, out, '--kind', kind,
         '--to-official', '--overwrite')
    return out


def test_shortened_conditional_run_draws_the_asked_digits(tmp_path, digits_root):
    data = [f'train_dataloader.dataset.data_root={digits_root}']
    tokenizer = _export(
        _train(osp.join(DEMO_CONFIGS, 'vqgan_tiny_digits.py'), str(tmp_path / 'tokenizer'),
               ITERS['tokenizer'], *data,
               f'train_cfg.val_interval={ITERS["tokenizer"]}',
               f'val_dataloader.dataset.data_root={digits_root}'),
        'tokenizer', str(tmp_path / 'tokenizer.ckpt'))
    frozen = [f'model.tokenizer.checkpoint={tokenizer}']
    predictor = _export(
        _train(osp.join(STUDY_CONFIGS, 'mage_tiny_digits_cond.py'), str(tmp_path / 'predictor'),
               ITERS['token_predictor'], *data, *frozen),
        'token_predictor', str(tmp_path / 'token_predictor.pth'))
    frozen.append(f'model.token_predictor.checkpoint={predictor}')
    addp = _train(osp.join(STUDY_CONFIGS, 'addp_tiny_digits_cond.py'), str(tmp_path / 'addp'),
                  ITERS['addp'], *data, *frozen)
    out = tmp_path / 'samples'
    _run('tools/generate.py', osp.join(STUDY_CONFIGS, 'addp_tiny_digits_cond.py'), addp, '--out',
         str(out), '--classes', ','.join(map(str, range(10))), '--per-class', str(PER_CLASS),
         '--cfg-scale', GUIDANCE, '--num-steps', '16', '--cfg-options', *frozen)

    train_x, test_x, train_y, _ = load_digits_split()
    judge = DigitsJudge(train_x, train_y, test_x)
    agreement = []
    for digit in range(10):
        paths = sorted(glob.glob(str(out / str(digit) / 'images' / '*.png')))
        assert len(paths) == PER_CLASS
        labels = judge.labels(report.on_digit_grid(report.read_pngs(paths)))
        agreement.append(float(np.mean(labels == digit)))
    assert np.mean(agreement) >= MIN_AGREEMENT, agreement
