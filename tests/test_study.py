"""The small-scale study: its baselines are comparable, and its measurements mean what they say."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from tool_modules import REPO, load_tool

from addp.models.generation import ADDPSampler, TokenPredictorSamplingModel

DIGITS = osp.join(REPO, 'configs', 'digits')


def config(name: str) -> Config:
    return Config.fromfile(osp.join(DIGITS, name))


def test_mae_baseline_trains_as_long_as_addp_at_its_size():
    addp, mae = config('addp_tiny_digits_long.py'), config('mae_tiny_digits_long.py')
    for key in ('train_cfg', 'param_scheduler', 'optim_wrapper', 'randomness'):
        assert mae[key] == addp[key], key
    assert mae.train_dataloader.batch_size == addp.train_dataloader.batch_size
    assert mae.train_dataloader.dataset == addp.train_dataloader.dataset
    assert mae.default_hooks.checkpoint == addp.default_hooks.checkpoint
    encoder, arch = addp.model.backbone, mae.model.backbone.arch
    assert (mae.model.backbone.img_size, mae.model.backbone.patch_size) == (encoder.img_size,
                                                                            encoder.patch_size)
    assert (arch.embed_dims, arch.num_layers, arch.num_heads) == (
        encoder.arch.embed_dims, encoder.arch.num_layers, encoder.arch.num_heads)
    assert mae.model.type == 'MAE' and mae.model.backbone.type == 'MAEViT'
    decoder = addp.model.neck
    assert (mae.model.neck.decoder_embed_dim, mae.model.neck.decoder_depth) == (
        decoder.embed_dims, decoder.num_layers)
    # 400 epochs of the 1,437 training digits, read at 27-epoch steps.
    assert addp.train_cfg.max_iters * addp.train_dataloader.batch_size / 1437 > 400
    assert addp.default_hooks.checkpoint.max_keep_ckpts == -1


def test_mae_finetuning_builds_the_pretrained_encoder():
    finetune, mae = config('finetune_tiny_digits_mae.py'), config('mae_tiny_digits_long.py')
    assert finetune.model.backbone.arch == mae.model.backbone.arch
    assert finetune.model.backbone.init_cfg.prefix == 'backbone.'
    assert finetune.model.backbone.patch_size == mae.model.backbone.patch_size


def test_long_recipes_only_lengthen_the_quick_ones():
    for quick, long in (('addp_tiny_digits.py', 'addp_tiny_digits_long.py'),
                        ('mage_tiny_digits.py', 'mage_tiny_digits_long.py')):
        quick_cfg, long_cfg = config(quick), config(long)
        assert long_cfg.model == quick_cfg.model
        assert long_cfg.optim_wrapper == quick_cfg.optim_wrapper
        assert long_cfg.train_cfg.max_iters > quick_cfg.train_cfg.max_iters
        assert long_cfg.param_scheduler[-1].end == long_cfg.train_cfg.max_iters


def test_token_predictor_sampling_reads_tokens_only(tiny_model):
    model = TokenPredictorSamplingModel(tiny_model.tokenizer, tiny_model.token_predictor).eval()
    torch.manual_seed(0)
    tokens = torch.randint(0, 64, (2, 64))
    mask = torch.rand(2, 64) < 0.5
    logits = model.predict_token_logits(torch.rand(2, 3, 32, 32), tokens, mask)
    expected = tiny_model.token_predictor.logits(tokens, mask)[:, 1:, :64]
    torch.testing.assert_close(logits, expected)
    other_pixels = model.predict_token_logits(torch.zeros(2, 3, 32, 32), tokens, mask)
    assert torch.equal(logits, other_pixels)

    sampler = ADDPSampler(num_steps=4)
    generators = [torch.Generator().manual_seed(i) for i in range(2)]
    state = sampler.generate(model, torch.zeros(2, 64, dtype=torch.long),
                             torch.ones(2, 64, dtype=torch.bool), (32, 32), generators)
    assert state.pixels.shape == (2, 3, 32, 32)
    assert 0 <= int(state.token_ids.min()) and int(state.token_ids.max()) < 64
    generators = [torch.Generator().manual_seed(i) for i in range(2)]
    again = sampler.generate(model, torch.zeros(2, 64, dtype=torch.long),
                             torch.ones(2, 64, dtype=torch.bool), (32, 32), generators)
    assert torch.equal(state.token_ids, again.token_ids)


class _LabelInOneFeature(torch.nn.Module):
    """Two blocks of (B, 1 + N, C) tokens; only block 2's class token carries the label, as
    the one bright pixel among the first four of the image's top row."""

    def forward(self, x):
        noise = torch.randn(x.shape[0], 5, 8, generator=torch.Generator().manual_seed(0))
        informative = noise.clone()
        informative[:, 0] = 0.01 * noise[:, 0]
        informative[:, 0, :4] = x[:, 0, 0, :4]
        return noise, informative


def test_knn_picks_its_feature_by_the_train_split_alone(monkeypatch):
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools'))  # as when run as a script
    study = load_tool('digits_study')
    labels = np.arange(200) % 4
    pixels = torch.rand(200, 3, 4, 4) * 0.2
    pixels[torch.arange(200), 0, 0, torch.as_tensor(labels)] = 1.
    train, test = slice(0, 150), slice(150, 200)
    result = study.knn_accuracy(_LabelInOneFeature(), pixels[train], labels[train],
                                pixels[test], labels[test])
    assert result['feature'] == 'block2_cls'
    assert result['top1'] == pytest.approx(100.)
    assert result['train_cv']['block1_avg'] < .5


def test_guidance_scores_count_agreement_with_the_asked_class(monkeypatch):
    from addp.datasets import load_digits_split
    from addp.evaluation.digits_judge import DigitsJudge
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools'))  # as when run as a script
    tool = load_tool('digits_guidance')
    monkeypatch.setattr(tool, 'on_digit_grid', np.asarray)  # real 8 x 8 digits go in as they are
    train_x, test_x, train_y, test_y = load_digits_split()
    judge = DigitsJudge(train_x, train_y, test_x)
    by_class = np.concatenate([test_x[test_y == d][:tool.PER_CLASS] for d in range(10)])
    scores = tool.score_classes(judge, by_class)
    asked = np.repeat(np.arange(10), tool.PER_CLASS)
    assert scores['agreement'] == pytest.approx(judge.accuracy(by_class, asked))
    assert scores['agreement'] > 0.9
    assert np.mean(scores['digit_is_per_class']) < 1.5  # each class judged as one label
    shifted = np.concatenate([by_class[tool.PER_CLASS:], by_class[:tool.PER_CLASS]])
    assert tool.score_classes(judge, shifted)['agreement'] < 0.1  # asked 0, drew 1, ...
