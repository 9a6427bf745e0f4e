"""The judge that scores generated digits: a classifier that ADDP does not contain."""
import numpy as np
import pytest

from addp.datasets import downsample_to_digit, load_digits_split, upsample_digit
from projects.digits_study.addp_study.judge import DigitsJudge, frechet_distance


@pytest.fixture(scope='module')
def split():
    return load_digits_split()


@pytest.fixture(scope='module')
def judge(split):
    train_x, test_x, train_y, _ = split
    return DigitsJudge(train_x, train_y, test_x)


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
    from projects.digits_study.addp_study import judge as judge_module
    _, test_x, _, _ = split
    stored = np.stack([downsample_to_digit(upsample_digit(x, 32)) for x in test_x])
    text = ' '.join(judge_module.__doc__.split())
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
