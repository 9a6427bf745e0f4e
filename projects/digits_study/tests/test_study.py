"""The small-scale study: its baselines are comparable, and its measurements mean what they say."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from projects.digits_study.addp_study import (
    DEMO_CONFIGS,
    PROJECT_DIR,
    REPO,
    STUDY_CONFIGS,
    doc_tables,
)
from projects.digits_study.addp_study import guidance as guidance_module
from projects.digits_study.addp_study import study as study_module
from projects.digits_study.addp_study.setups import SETUPS

TOOLS = {'digits_study': study_module, 'digits_guidance': guidance_module,
         'mnist_grid8_study': study_module}


def config(name: str) -> Config:
    """A study recipe, or a demo recipe that the study lengthens."""
    study_config = osp.join(STUDY_CONFIGS, name)
    return Config.fromfile(study_config if osp.isfile(study_config) else
                           osp.join(DEMO_CONFIGS, name))


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
    study = study_module
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
    from projects.digits_study.addp_study.judge import DigitsJudge
    tool = guidance_module
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


def write(path, text: str = 'weights') -> str:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def fake_study_dir(root: str) -> tuple:
    """A study work dir and data root with tiny stand-ins for checkpoints and split lists."""
    work_dir, data_root = osp.join(root, 'work_dir'), osp.join(root, 'data')
    for name in ('tokenizer.ckpt', 'token_predictor.pth', 'addp/iter_600.pth'):
        write(osp.join(work_dir, name))
    for name in ('train', 'test', 'train_10shot_seed0'):
        write(osp.join(data_root, 'meta', f'{name}.txt'), f'0/{name}.png 0\n')
    return work_dir, data_root


def test_study_recomputes_a_measurement_when_its_recipe_checkpoint_or_split_changes(
        tmp_path, monkeypatch, capsys):
    tool = study_module
    shutil.copytree(osp.join(REPO, 'configs'), tmp_path / 'configs')
    recipe = tmp_path / 'configs' / 'digits' / 'finetune_tiny_digits.py'
    monkeypatch.setitem(SETUPS['digits'].finetune_configs, ('finetune_10_labels', 'addp'),
                        str(recipe))
    monkeypatch.chdir(tmp_path)  # paths show relative to it
    work_dir, data_root = fake_study_dir('.')
    trained = []

    def classify(cfg, run_dir, seed, checkpoint):
        trained.append(cfg.train_cfg.max_epochs)
        return 50. + len(trained)

    monkeypatch.setattr(tool, 'classify', classify)

    def top1() -> float:  # each run a new process would make
        return tool.Study(work_dir, data_root, [0]).finetuned_top1(
            'finetune_10_labels', 'addp', 'work_dir/addp/iter_600.pth', 0, 'addp_600')

    assert top1() == top1() == 51. and trained == [50]
    assert capsys.readouterr().out == ''
    recipe.write_text(recipe.read_text().replace('max_epochs = 50', 'max_epochs = 40'))
    assert top1() == 52. and trained == [50, 40]
    name = '[study] recomputing addp_600_finetune_10_labels_seed0'
    assert capsys.readouterr().out == (
        f'{name}: the fine-tune config configs/digits/finetune_tiny_digits.py changed\n')
    write('work_dir/addp/iter_600.pth', 'retrained weights')
    assert top1() == 53.
    assert capsys.readouterr().out == (
        f'{name}: the checkpoint work_dir/addp/iter_600.pth changed\n')
    write('data/meta/train_10shot_seed0.txt', '0/another.png 0\n')
    assert top1() == 54.
    assert capsys.readouterr().out == (
        f'{name}: the train split data/meta/train_10shot_seed0.txt changed\n')
    assert top1() == 54. and capsys.readouterr().out == ''


class _FakeJudge:
    def score(self, digits):
        return dict(digit_is=float(len(digits)), confident=.5, frechet_distance=1.,
                    near_copies=0., class_histogram=[len(digits) // 10] * 10)


def test_study_recomputes_samples_when_their_number_changes(tmp_path, monkeypatch, capsys):
    tool = study_module
    monkeypatch.chdir(tmp_path)
    work_dir, data_root = fake_study_dir('.')
    draws = []

    def sample_digits(model, seed):
        draws.append(seed)
        return [Image.new('RGB', (2, 2))] * tool.NUM_SAMPLES

    monkeypatch.setattr(tool, 'sample_digits', sample_digits)
    monkeypatch.setattr(tool, 'on_digit_grid', list)

    def digit_is() -> float:
        study = tool.Study(work_dir, data_root, [0])
        study.judge = _FakeJudge()
        return study.generation(lambda: 'model', 'addp_600',
                                'work_dir/addp/iter_600.pth')['digit_is']['mean']

    assert digit_is() == digit_is() == 200. and draws == [0]
    assert capsys.readouterr().out == ''
    monkeypatch.setattr(tool, 'NUM_SAMPLES', 100)
    assert digit_is() == 100. and draws == [0, 0]
    assert capsys.readouterr().out == (
        '[study] recomputing addp_600_samples_seed0: NUM_SAMPLES changed 200 -> 100\n')


def _study_report() -> dict:
    """A synthetic study report: random init, MAGE and one pretraining length."""

    def runs(*values):
        return dict(mean=float(np.mean(values)), std=float(np.std(values)), runs=list(values))

    def rep(ten, knn, features):
        return dict(finetune_10_labels=runs(*ten), finetune_all_labels=runs(90., 92.),
                    knn=dict(runs(*knn), features=features))

    def samples(digit_is):
        return dict(digit_is=runs(digit_is, digit_is), confident=runs(.5, .7),
                    frechet_distance=runs(140., 142.), near_copies=runs(0., .01),
                    class_histogram=[20] * 9 + [40], smallest_class_share=.1)

    addp = dict(rep((80., 82.), (75.5, ), ['block3_avg']), generation=samples(6.))
    return dict(seeds=[0, 1], num_test=360, num_samples=200, sampling_steps=16,
                knn_neighbours=10, knn_folds=5, judge='an SVC',
                real_test=dict(digit_is=7.82, confident=.872, frechet_distance=87.21,
                               near_copies=.003, class_histogram=[34] + [36] * 9),
                random_init=rep((60., 70.), (62., 63.), ['block4_cls', 'block4_avg']),
                mage=samples(5.), lengths=[dict(iters=600, epochs=26.7, addp=addp,
                                                mae=rep((88., 88.), (86.1, ), ['block4_avg']))],
                targets={'a target': True}, stage_seconds=dict(addp=10.))


README_LIKE = '''# A document

Text above, kept.
<!-- {name}:begin -->

| the old | table |

<!-- {name}:end -->
Text below, kept.
'''


def test_study_tables_say_where_each_number_comes_from_and_go_between_the_markers(
        tmp_path):
    tool, report_tool = study_module, doc_tables
    report = _study_report()
    text = tool.doc_tables(report)
    lines = text.splitlines()
    assert lines[0].startswith('**Recognition** (top-1 % on the 360 digits of the test split, '
                               'mean ± std over seeds 0, 1;')
    assert '5-fold cross-validation on the train split alone' in lines[0]
    assert ('| random init | 0 | 65.00 ± 5.00 | 91.00 ± 1.00 | 62.50 ± 0.50 (block 4, class '
            'token; block 4, average) |') in lines
    assert '| ADDP | 27 | 81.00 ± 1.00 | 91.00 ± 1.00 | 75.50 (block 3, average) |' in lines
    assert '| MAE | 27 | 88.00 ± 0.00 | 91.00 ± 1.00 | 86.10 (block 4, average) |' in lines
    assert ('| ADDP | 27 | 6.00 ± 0.00 | 60.0 ± 10.0% | 141.00 ± 1.00 | 0.5 ± 0.5% | '
            '10.0% |') in lines
    assert '| real test digits (ceiling) | | 7.82 | 87.2% | 87.21 | 0.3% | 9.5% |' in lines
    assert lines[-1] == ("Class histogram of ADDP's 220 samples at 27 epochs: "
                         '`[20, 20, 20, 20, 20, 20, 20, 20, 20, 40]`.')
    assert text in tool.markdown(report)

    readme = write(tmp_path / 'README.md', README_LIKE.format(name='digits_study'))
    report_tool.publish_to_doc(readme, 'digits_study', report, text)
    assert report_tool.marked_text(readme, 'digits_study') == text
    with open(readme) as f:
        rewritten = f.read()
    above, below = README_LIKE.format(name='digits_study').split('\n\n| the old | table |\n\n')
    assert rewritten == f'{above}\n\n{text}\n{below}'
    with open(tmp_path / 'results' / 'digits_study.json') as f:
        stored = json.load(f)
    assert stored == report and tool.doc_tables(stored) == text


def test_doc_markers_are_required_once_each_and_in_order(tmp_path):
    from addp.errors import InvalidInputError
    report_tool = doc_tables
    begin, end = report_tool.doc_markers('digits_study')
    for text in ('no markers\n', f'{end}\n{begin}\n', f'{begin}\n{begin}\n{end}\n',
                 README_LIKE.format(name='digits_guidance')):
        readme = write(tmp_path / 'README.md', text)
        with pytest.raises(InvalidInputError, match="needs one '<!-- digits_study:begin -->'"):
            report_tool.update_doc(readme, 'digits_study', 'new\n')
        with open(readme) as f:
            assert f.read() == text


@pytest.mark.parametrize('name', sorted(TOOLS))
def test_readme_tables_are_what_the_tool_renders_from_its_stored_json(name):
    report_tool = doc_tables
    readme = osp.join(PROJECT_DIR, 'README.md')
    marked = report_tool.marked_text(readme, name)  # the markers are there
    stored = report_tool.stored_results_path(readme, name)
    if not osp.isfile(stored):
        pytest.skip(f'no {osp.relpath(stored, REPO)} yet: the README holds the record of an '
                    'earlier run, until the tool rewrites it with --update-doc')
    with open(stored) as f:
        assert marked == TOOLS[name].doc_tables(json.load(f))


class _Draw(tuple):
    """A fake draw: which scale and seed made it."""


def fake_score(judge, draw):
    scale, seed = draw
    # The test draws favour scale 5, the validation draws scale 2.
    favoured = 2. if seed >= 100 else 5.
    agreement = .9 - .1 * abs(scale - favoured) + .01 * (seed % 100)
    return dict(agreement=agreement, digit_is=8., confident=.9, frechet_distance=130.,
                near_copies=0., agreement_per_class=[agreement] * 10,
                digit_is_per_class=[1.] * 10, class_histogram=[20] * 10)


def fake_guidance_dir(root) -> str:
    work_dir = osp.join(root, 'work_dir')
    for name in ('tokenizer.ckpt', 'token_predictor.pth', 'addp/iter_3000.pth'):
        write(osp.join(work_dir, name))
    write(osp.join(work_dir, 'addp', 'iter_2000.pth'), 'shorter run')
    return work_dir


@pytest.fixture
def guidance_tool(monkeypatch):
    """digits_guidance with fake draws, scores and pictures."""
    tool = guidance_module
    drawn = []

    def sample_classes(model, scale, seed):
        drawn.append((model, scale, seed))
        return _Draw((scale, seed))

    monkeypatch.setattr(tool, 'sample_classes', sample_classes)
    monkeypatch.setattr(tool, 'score_classes', fake_score)
    monkeypatch.setattr(tool, 'draw_rows', lambda images, title, path: drawn.append(title))
    monkeypatch.setattr(tool.GuidanceStudy, 'judge', None)
    monkeypatch.setattr(tool.GuidanceStudy, 'model', lambda self, name: name)
    monkeypatch.setattr(tool, 'drawn', drawn, raising=False)
    return tool


def test_guidance_chooses_its_scale_on_validation_draws_and_reports_the_test_draws(
        tmp_path, guidance_tool):
    tool = guidance_tool
    work_dir = fake_guidance_dir(tmp_path)
    readme = write(tmp_path / 'README.md', README_LIKE.format(name='digits_guidance'))
    report = tool.main([work_dir, '--scales', '0', '2', '5', '10', '--seeds', '0', '1',
                        '--update-doc', readme])
    assert report['validation_seeds'] == [100, 101]
    assert report['chosen_scale'] == 2.  # the validation draws' best, not the test draws' (5)
    test_agreement = {scale: r['agreement']['mean'] for scale, r in report['addp'].items()}
    assert max(test_agreement, key=test_agreement.get) == '5'
    assert set(report['addp']) == set(report['mage']) == {'0', '2', '5', '10'}
    assert report['validation_agreement']['2']['mean'] == pytest.approx(.905)
    assert tool.drawn[-1] == 'ADDP, class-conditional, guidance scale 2'
    validation_draws = {(s, seed) for m, s, seed in tool.drawn[:-2] if seed >= 100}
    assert validation_draws == {(s, seed) for s in (0., 2., 5., 10.) for seed in (100, 101)}

    text = tool.doc_tables(report)
    assert 'validation draws (seeds 100, 101), not on the draws below' in text
    assert text.startswith('Test draws (seeds 0, 1)')
    assert '| ADDP, class-conditional | **2 (chosen)** | 60.5 ± 0.5% |' in text
    assert '| ADDP, class-conditional | 5 | 90.5 ± 0.5% |' in text
    assert '| ADDP, class-conditional | 0 (label dropped) |' in text
    assert '**' not in ''.join(line for line in text.splitlines() if 'MAGE' in line)
    rows = [line.split(' | ')[1] for line in text.splitlines() if line.startswith('| ADDP')]
    assert rows == ['0 (label dropped)', '**2 (chosen)**', '5', '10']  # as measured, not as text
    assert doc_tables.marked_text(readme, 'digits_guidance') == text
    with open(tmp_path / 'results' / 'digits_guidance.json') as f:
        assert tool.doc_tables(json.load(f)) == text  # what the README test renders


def test_guidance_recomputes_addp_draws_for_other_iterations_only(tmp_path, monkeypatch, capsys,
                                                                  guidance_tool):
    tool = guidance_tool
    monkeypatch.chdir(tmp_path)
    work_dir = fake_guidance_dir('.')
    tool.main([work_dir, '--scales', '1', '--seeds', '0'])
    capsys.readouterr()
    del tool.drawn[:]
    tool.main([work_dir, '--scales', '1', '--seeds', '0'])
    assert 'recomputing' not in capsys.readouterr().out
    assert len(tool.drawn) == 2  # the picture's draw only, and its title
    tool.main([work_dir, '--scales', '1', '--seeds', '0', '--iters', '2000'])
    recomputed = [line for line in capsys.readouterr().out.splitlines() if 'recomputing' in line]
    why = 'iters changed 3000 -> 2000; the checkpoint work_dir/addp/iter_2000.pth changed'
    assert recomputed == [f'[guidance] recomputing addp_w1_seed100: {why}',
                          f'[guidance] recomputing addp_w1_seed0: {why}']


def test_guidance_refuses_bad_options_before_measuring(tmp_path, guidance_tool):
    from addp.errors import InvalidInputError
    work_dir = fake_guidance_dir(tmp_path)
    readme = write(tmp_path / 'README.md', 'no markers\n')
    with pytest.raises(InvalidInputError, match='digits_guidance:begin'):
        guidance_tool.main([work_dir, '--update-doc', readme])
    with pytest.raises(InvalidInputError, match='include validation seeds'):
        guidance_tool.main([work_dir, '--seeds', '0', '100'])
    assert guidance_tool.drawn == []
