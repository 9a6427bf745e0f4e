"""scikit-learn's digits as an image folder, and the judge that scores generated digits."""
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from addp.datasets import downsample_to_digit, load_digits_split, prepare_digits, upsample_digit
from addp.evaluation.digits_judge import DigitsJudge, frechet_distance


@pytest.fixture(scope='module')
def split():
    return load_digits_split()


@pytest.fixture(scope='module')
def judge(split):
    train_x, test_x, train_y, _ = split
    return DigitsJudge(train_x, train_y, test_x)


def test_split_is_seeded_and_stratified(split):
    train_x, test_x, train_y, test_y = split
    assert (len(train_x), len(test_x)) == (1437, 360)
    assert np.bincount(test_y).min() >= 35
    again = load_digits_split()
    assert np.array_equal(again[1], test_x) and np.array_equal(again[3], test_y)


def test_up_and_down_sampling_keep_the_digit(split):
    digit = split[0][0]
    image = upsample_digit(digit, 32)
    assert image.size == (32, 32) and image.mode == 'L'
    assert np.abs(downsample_to_digit(image) - digit).mean() < 1.


def test_prepare_digits_writes_class_folders_and_few_label_lists(tmp_path, split):
    paths = prepare_digits(str(tmp_path), shot_seeds=(0, 1))
    lines = open(osp.join(paths['meta'], 'train.txt')).read().split('\n')[:-1]
    assert len(lines) == 1437
    relative, label = lines[0].split()
    assert relative.startswith(f'{label}/')
    image = Image.open(osp.join(paths['train'], relative))
    assert image.size == (32, 32)
    assert np.array_equal(np.asarray(image), np.asarray(upsample_digit(split[0][0], 32)))
    shots = [open(osp.join(paths['meta'], f'train_10shot_seed{s}.txt')).read().split()
             for s in (0, 1)]
    for shot in shots:
        assert np.bincount(np.array(shot[1::2], dtype=int)).tolist() == [10] * 10
        assert set(shot[0::2]) <= {line.split()[0] for line in lines}
    assert set(shots[0][0::2]) != set(shots[1][0::2])
    assert json.load(open(osp.join(paths['meta'], 'settings.json')))['size'] == 32
    before = osp.getmtime(osp.join(paths['train'], relative))
    prepare_digits(str(tmp_path), shot_seeds=(0, 1))  # kept as they are
    assert osp.getmtime(osp.join(paths['train'], relative)) == before
    with pytest.raises(ValueError, match="written with .*'size': 32.*remove it"):
        prepare_digits(str(tmp_path), size=16, shot_seeds=(0, 1))


def test_judge_is_accurate_and_scores_real_digits_far_above_noise(judge, split):
    _, test_x, _, test_y = split
    assert judge.accuracy(test_x, test_y) >= 0.95
    real = judge.score(test_x)
    noise = judge.score(np.random.default_rng(0).uniform(0, 16, test_x.shape))
    assert real['digit_is'] > 7 and real['confident'] > 0.8 and real['classes_present'] == 10
    assert noise['confident'] < 0.05 and noise['digit_is'] < real['digit_is'] / 2
    assert sum(real['class_histogram']) == 360
    assert noise['frechet_distance'] > 10 * real['frechet_distance']
    # Held-out digits sit at the 1st percentile by construction; training digits are copies.
    assert real['near_copies'] < 0.05
    assert judge.score(split[0][:100])['near_copies'] == 1.


def test_the_judges_stated_ceilings_are_what_it_scores(judge, split):
    from addp.evaluation import digits_judge
    _, test_x, _, _ = split
    stored = np.stack([downsample_to_digit(upsample_digit(x, 32)) for x in test_x])
    text = ' '.join(digits_judge.__doc__.split())
    for digits in (test_x, stored):
        score = judge.score(digits)
        stated = (f'digit-IS of {score["digit_is"]:.2f} with {100 * score["confident"]:.1f}% '
                  if digits is test_x else
                  f'{score["digit_is"]:.2f} with {100 * score["confident"]:.1f}% on the test')
        assert stated in text, (stated, text)


def test_frechet_distance_of_identical_sets_is_zero_and_grows_with_a_shift():
    x = np.random.default_rng(0).normal(size=(500, 4))
    assert frechet_distance(x, x) == pytest.approx(0., abs=1e-8)
    assert frechet_distance(x, x + 1.) == pytest.approx(4., rel=1e-6)
