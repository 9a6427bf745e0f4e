"""TokenizerCollapseHook: one-line warnings, or a stop, on the two signs of a collapse."""
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from addp.engine import TokenizerCollapseError, TokenizerCollapseHook

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


class _Logger:

    def __init__(self):
        self.warnings = []

    def warning(self, message):
        self.warnings.append(message)


def _runner(tmp_path, warmup=0):
    return SimpleNamespace(iter=0, work_dir=str(tmp_path), logger=_Logger(),
                           model=SimpleNamespace(autoencoder_warmup_iters=warmup))


def _outputs(perplexity, psnr=20., baseline=12.):
    return dict(perplexity=torch.tensor(perplexity), psnr=torch.tensor(psnr),
                psnr_mean_image=torch.tensor(baseline))


def _run(hook, runner, perplexities, start=0, batch_size=4, **kwargs):
    for step, perplexity in enumerate(perplexities):
        runner.iter = start + (step + 1) * hook.interval - 1
        hook.after_train_iter(runner, 0, data_batch=dict(inputs=[None] * batch_size),
                              outputs=_outputs(perplexity, **kwargs))


def test_an_unchanging_perplexity_warns_once_after_patience_checks(tmp_path):
    hook, runner = TokenizerCollapseHook(interval=10, patience=3), _runner(tmp_path)
    _run(hook, runner, [13.4543] * 3)
    assert runner.logger.warnings == []
    _run(hook, runner, [13.4543] * 3, start=30)
    assert len(runner.logger.warnings) == 1
    message = runner.logger.warnings[0]
    assert '\n' not in message
    assert 'perplexity has read 13.4543 at 4 checks 10 iterations apart' in message
    assert 'up to iteration 40' in message


def test_a_changing_perplexity_and_a_good_psnr_stay_quiet(tmp_path):
    hook, runner = TokenizerCollapseHook(interval=10, patience=2), _runner(tmp_path)
    _run(hook, runner, [13.4, 13.4, 15.1, 15.1, 16.0, 14.2])
    assert runner.logger.warnings == []


def test_checks_run_only_every_interval_and_after_the_warmup_and_begin(tmp_path):
    # A 30-iteration autoencoder warm-up, then 20 more: the first check is at iteration 50.
    hook = TokenizerCollapseHook(interval=10, begin_after_warmup=20, patience=1)
    runner = _runner(tmp_path, warmup=30)
    _run(hook, runner, [16.] * 4, psnr=5.)
    assert runner.logger.warnings == []
    runner.iter = 54  # iteration 55 is past begin but not on the interval
    hook.after_train_iter(runner, 0, outputs=_outputs(16., psnr=5.))
    assert runner.logger.warnings == []
    _run(hook, runner, [16.] * 2, start=50, psnr=5.)
    assert len(runner.logger.warnings) == 2


def test_a_tokenizer_from_a_checkpoint_has_no_warmup_to_wait_for(tmp_path):
    hook, runner = TokenizerCollapseHook(interval=10, begin_after_warmup=20), _runner(tmp_path)
    _run(hook, runner, [10., 11., 12.], psnr=5.)
    assert len(runner.logger.warnings) == 1
    assert 'at iteration 20 the batch PSNR' in runner.logger.warnings[0]


def test_a_batch_of_one_image_gives_no_psnr_verdict(tmp_path):
    # One image is its own mean (100 dB): no tokenizer beats it, healthy or not.
    hook, runner = TokenizerCollapseHook(interval=10), _runner(tmp_path)
    _run(hook, runner, [10., 11., 12.], batch_size=1, psnr=30., baseline=100.)
    assert runner.logger.warnings == []
    _run(hook, runner, [13.], start=30, batch_size=2, psnr=30., baseline=100.)
    assert len(runner.logger.warnings) == 1


def test_a_batch_psnr_below_the_mean_image_warns(tmp_path):
    hook, runner = TokenizerCollapseHook(interval=10), _runner(tmp_path)
    _run(hook, runner, [10., 11.], psnr=12.09, baseline=13.03)
    assert len(runner.logger.warnings) == 1
    assert 'batch PSNR 12.09 dB is below the 13.03 dB of the batch mean image' in (
        runner.logger.warnings[0])


def test_a_held_out_psnr_below_the_mean_image_warns(tmp_path):
    hook, runner = TokenizerCollapseHook(), _runner(tmp_path)
    hook.after_val_epoch(runner, {'tokenizer/psnr': 23.3, 'tokenizer/psnr_mean_image': 12.45})
    assert runner.logger.warnings == []
    hook.after_val_epoch(runner, {'tokenizer/psnr': 12.09, 'tokenizer/psnr_mean_image': 13.03})
    assert runner.logger.warnings == [
        'Tokenizer collapse: the held-out PSNR 12.09 dB is below the 13.03 dB of the held-out '
        'mean image. Lower the learning rate, or see "When the tokenizer collapses" in '
        'docs/own_data.md.']


def test_stop_turns_the_warning_into_an_error_naming_the_kept_checkpoints(tmp_path):
    hook, runner = TokenizerCollapseHook(interval=10, patience=1, stop=True), _runner(tmp_path)
    with pytest.raises(TokenizerCollapseError, match='every image gets the same codes') as info:
        _run(hook, runner, [16., 16.])
    assert f'the checkpoints in {tmp_path} are untouched' in str(info.value)
    assert runner.logger.warnings == []


def test_the_256px_own_folder_recipe_stops_a_collapsed_run_in_one_line(tmp_path):
    # Identical grey images: every image gets the same codes, and the mean image is perfect.
    for split, count in (('train', 40), ):
        (tmp_path / 'data' / split).mkdir(parents=True)
        for i in range(count):
            Image.new('RGB', (40, 40), (90, 90, 90)).save(tmp_path / 'data' / split / f'{i}.png')
    work_dir = tmp_path / 'work'
    tiny = ['model.tokenizer.checkpoint=None', 'model.tokenizer.ch=32',
            'model.tokenizer.ch_mult=[1,1,2]', 'model.tokenizer.num_res_blocks=1',
            'model.tokenizer.z_channels=8', 'model.tokenizer.codebook_size=8',
            'model.tokenizer.codebook_dim=8', 'model.autoencoder_warmup_iters=2']
    small_images = ['train_dataloader.dataset.pipeline.1.scale=32',
                    'val_dataloader.dataset.pipeline.1.scale=32',
                    'val_dataloader.dataset.pipeline.2.crop_size=32']
    watch = ['custom_hooks.2.interval=2', 'custom_hooks.2.patience=2', 'custom_hooks.2.stop=True',
             'custom_hooks.2.begin_after_warmup=0']
    result = subprocess.run(
        [sys.executable, 'tools/train.py', osp.join(REPO, 'configs', 'tokenizer',
                                                    'vqgan_custom_256px.py'),
         '--work-dir', str(work_dir), '--cfg-options',
         f'train_dataloader.dataset.data_root={tmp_path / "data"}',
         f'val_dataloader.dataset.data_root={tmp_path / "data"}',
         'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
         'val_dataloader.persistent_workers=False', 'auto_scale_lr.enable=False',
         'train_cfg.max_epochs=4', *tiny, *small_images, *watch],
        cwd=REPO, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 1, result.stderr[-3000:]
    errors = [line for line in (result.stdout + result.stderr).splitlines()
              if 'Tokenizer collapse' in line]
    assert len(errors) == 1, errors
    assert 'every image gets the same codes' in errors[0] or 'mean image' in errors[0]
    assert 'Stopping (TokenizerCollapseHook stop=True)' in errors[0]
    assert 'Traceback' not in result.stderr
