"""The MNIST judge: fitted on the train part of MNIST-5k, its settings chosen on the held-out
part, and never shown the test split."""
import numpy as np
import pytest
from PIL import Image

from addp.datasets import prepare_bundled
from addp.errors import InvalidInputError
from projects.digits_study.addp_study import judge as judge_module
from projects.digits_study.addp_study.judge import MnistJudge, mnist_judge_grid, mnist_judge_split


@pytest.fixture(scope='module')
def mnist_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('mnist')
    prepare_bundled('mnist', str(root))
    return root


@pytest.fixture(scope='module')
def split(mnist_root):
    return mnist_judge_split(str(mnist_root))


@pytest.fixture(scope='module')
def judge(split):
    return MnistJudge(split['train_x'], split['train_y'], split['val_x'])


def test_split_is_the_held_out_tenth_of_train_on_the_judges_grid(split, mnist_root):
    assert len(split['train_x']) + len(split['val_x']) == 4000
    assert 300 < len(split['val_x']) < 500 and split['val_x'].shape[1:] == (14, 14)
    assert sorted(set(split['val_y'])) == list(range(10))
    assert 0 <= split['train_x'].min() and split['train_x'].max() <= 1


def test_grid_is_the_box_filtered_28_px_digit():
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[:2, :2] = 255  # one judge cell, fully lit
    digit[26:, 27] = 255  # half of another
    padded = np.zeros((32, 32), dtype=np.uint8)
    padded[2:30, 2:30] = digit
    for images in (digit[None], padded[None]):
        grid = mnist_judge_grid(images)[0]
        assert grid.shape == (14, 14) and grid[0, 0] == 1. and grid[13, 13] == 0.5
        assert grid.sum() == 1.5
    with pytest.raises(InvalidInputError, match='28 or 32 px'):
        mnist_judge_grid(np.zeros((1, 8, 8)))


def test_judge_states_its_validation_accuracy_and_ignores_noise(judge, split):
    accuracy = judge.accuracy(split['val_x'], split['val_y'])
    assert f'{100 * accuracy:.2f}%' in ' '.join(judge_module.__doc__.split())
    assert accuracy > 0.97
    real = judge.score(split['val_x'])
    noise = judge.score(np.random.default_rng(0).random((400, 14, 14)))
    assert noise['confident'] < 0.05 and noise['digit_is'] < real['digit_is'] / 2
    assert real['classes_present'] == 10 and real['confident'] > 0.7
    assert noise['frechet_distance'] > 10 * real['frechet_distance']
    # The held-out part sits at the 1st percentile by construction; training digits are copies.
    assert real['near_copies'] < 0.05
    assert judge.score(split['train_x'][:50])['near_copies'] == 1.


def test_samples_at_32_px_are_judged_like_the_stored_digits(judge, mnist_root):
    path = sorted((mnist_root / 'train' / '3').iterdir())[0]
    stored = np.asarray(Image.open(path).convert('L'))[None]
    assert stored.shape == (1, 32, 32)
    assert judge.labels(mnist_judge_grid(stored))[0] == 3
