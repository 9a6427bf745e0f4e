"""scikit-learn's digits as an image folder."""
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from addp.datasets import downsample_to_digit, load_digits_split, prepare_digits, upsample_digit


@pytest.fixture(scope='module')
def split():
    return load_digits_split()


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
