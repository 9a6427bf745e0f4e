"""The three training stages on real digits, shortened: tokenizer, token predictor, ADDP.

They run through the same tools and configs as tools/run_demo.sh, with fewer iterations, and
are judged by the scikit-learn classifier of the demo report.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from addp.checkpoint import load_addp_checkpoint
from addp.datasets import downsample_to_digit, load_digits_split, prepare_digits
from addp.registry import MODELS
from projects.digits_study.addp_study import report
from projects.digits_study.addp_study.judge import DigitsJudge

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs', 'digits')
ADDP_CONFIG = osp.join(CONFIGS, 'addp_tiny_digits.py')


def _tool(*args):
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _train(config, work_dir, iters, data_root, *options):
    _tool('tools/train.py', osp.join(CONFIGS, config), '--work-dir', work_dir, '--cfg-options',
          f'train_cfg.max_iters={iters}', f'default_hooks.checkpoint.interval={iters}',
          f'train_dataloader.dataset.data_root={data_root}', 'randomness.seed=0', *options)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def _export(checkpoint, kind, out):
    _tool('tools/convert_official_checkpoint.py', checkpoint, out, '--kind', kind,
          '--to-official')
    return out


@pytest.fixture(scope='module')
def stages(tmp_path_factory):
    root = tmp_path_factory.mktemp('digits_stages')
    data = str(root / 'data')
    prepare_digits(data)
    files = dict(data=data)
    tokenizer = _train('vqgan_tiny_digits.py', str(root / 'tokenizer'), 150, data,
                       f'val_dataloader.dataset.data_root={data}', 'train_cfg.val_interval=150')
    files['tokenizer'] = _export(tokenizer, 'tokenizer', str(root / 'tokenizer.ckpt'))
    frozen = (f'model.tokenizer.checkpoint={files["tokenizer"]}', )
    predictor = _train('mage_tiny_digits.py', str(root / 'token_predictor'), 150, data, *frozen)
    files['token_predictor'] = _export(predictor, 'token_predictor',
                                       str(root / 'token_predictor.pth'))
    frozen += (f'model.token_predictor.checkpoint={files["token_predictor"]}', )
    files['addp'] = _train('addp_tiny_digits.py', str(root / 'addp'), 120, data, *frozen)
    files['predictor_dir'] = str(root / 'token_predictor')
    _tool('tools/write_untrained.py', ADDP_CONFIG, str(root / 'untrained'))
    for name, checkpoint, tokenizer_file in (
            ('samples', files['addp'], files['tokenizer']),
            ('samples_untrained', str(root / 'untrained' / 'addp.pth'),
             str(root / 'untrained' / 'tokenizer.ckpt'))):
        _tool('tools/generate.py', ADDP_CONFIG, checkpoint, '--num-images', '100',
              '--batch-size', '50', '--num-steps', '8', '--out', str(root / name), '--device',
              'cpu', '--cfg-options', f'model.tokenizer.checkpoint={tokenizer_file}')
        files[name] = str(root / name / 'images')
    files['untrained_tokenizer'] = str(root / 'untrained' / 'tokenizer.ckpt')
    return files


def test_trained_tokenizer_reconstructs_better_than_untrained(stages):
    images = report.read_pngs(report.split_paths(stages['data'], 'test'))
    trained = report.tokenizer_psnr(stages['tokenizer'], images)
    untrained = report.tokenizer_psnr(stages['untrained_tokenizer'], images)
    assert trained > untrained + 3., (trained, untrained)


def test_token_predictor_masked_token_loss_falls(stages):
    scalars = glob.glob(osp.join(stages['predictor_dir'], '*', 'vis_data', 'scalars.json'))
    with open(scalars[0]) as f:
        losses = [json.loads(line)['loss'] for line in f if '"loss"' in line]
    assert len(losses) >= 3
    assert losses[-1] < losses[0] - 0.1, losses


def test_samples_from_trained_parts_beat_untrained_parts_with_the_judge(stages):
    train_x, test_x, train_y, test_y = load_digits_split()
    judge = DigitsJudge(train_x, train_y, test_x)
    assert judge.accuracy(test_x, test_y) >= 0.95

    def score(folder):
        paths = sorted(glob.glob(osp.join(folder, '*.png')))
        assert len(paths) == 100
        return judge.score(np.stack([downsample_to_digit(Image.open(p)) for p in paths]))

    trained, untrained = score(stages['samples']), score(stages['samples_untrained'])
    assert trained['digit_is'] > untrained['digit_is'], (trained, untrained)
    assert trained['frechet_distance'] < untrained['frechet_distance'], (trained, untrained)


def test_the_three_checkpoints_reload_through_the_ordinary_configs(stages):
    cfg = Config.fromfile(ADDP_CONFIG)
    cfg.model.tokenizer.checkpoint = stages['tokenizer']
    cfg.model.token_predictor.checkpoint = stages['token_predictor']
    model = MODELS.build(cfg.model)
    load_addp_checkpoint(model, stages['addp'], strict=True)
    saved = torch.load(stages['addp'], map_location='cpu')['state_dict']
    assert torch.equal(model.backbone.patch_embed.proj.weight,
                       saved['backbone.patch_embed.proj.weight'])
    finetune = Config.fromfile(osp.join(CONFIGS, 'finetune_tiny_digits.py'))
    finetune.model.backbone.init_cfg.checkpoint = stages['addp']
    classifier = MODELS.build(finetune.model)
    classifier.init_weights()
    assert torch.equal(classifier.backbone.blocks[0].attn.qkv.weight,
                       saved['backbone.blocks.0.attn.qkv.weight'])


def test_a_token_predictor_of_another_tokenizer_is_refused_before_training(
        stages, tiny_frozen_files, tmp_path):
    other = tiny_frozen_files['mage']  # 64 codes on an 8 x 8 grid
    result = subprocess.run(
        [sys.executable, 'tools/train.py', ADDP_CONFIG, '--work-dir', str(tmp_path),
         '--cfg-options', f'model.tokenizer.checkpoint={stages["tokenizer"]}',
         f'model.token_predictor.checkpoint={other}'],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr
    assert (f'tokenizer {stages["tokenizer"]} and token predictor {other} do not fit: '
            'codebook size 32 vs 64; tokens per image 16 vs 64') in result.stderr
    assert not glob.glob(osp.join(tmp_path, '*.pth'))
