"""Cached measurements and pipeline stages are keyed by what produced them: never stale."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config
from tool_modules import REPO

from addp.measurement_cache import (
    RUN_STAGE,
    STAGE_KEY_FILE,
    cached,
    check_stage,
    config_part,
    file_part,
    key_changes,
    main,
)

RECIPE = 'train_cfg = dict(max_iters=5)\nmodel = dict(tokenizer=dict(checkpoint=None))\n'


def write(path, text: str) -> str:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


class Counter:
    """A measurement that counts its runs and returns the number of the run."""

    def __init__(self):
        self.runs = 0

    def __call__(self):
        self.runs += 1
        return dict(top1=float(self.runs))


def test_cached_reuses_an_unchanged_key_and_names_each_changed_part(tmp_path, monkeypatch,
                                                                     capsys):
    monkeypatch.chdir(tmp_path)  # paths show relative to the current folder
    checkpoint = write('addp/iter_3000.pth', 'weights')
    recipe = Config.fromfile(write('finetune.py', 'max_epochs = 50\n'))
    path, compute = 'cache/addp_3000_knn_seed0.json', Counter()

    def measure(samples=200, cfg=recipe):
        key = {'checkpoint': file_part(checkpoint), 'fine-tune config': config_part(cfg),
               'NUM_SAMPLES': samples, 'seeds': (0, 1)}
        return cached(path, key, compute, prefix='[study]')

    assert measure() == dict(top1=1.)
    assert measure() == dict(top1=1.) and compute.runs == 1  # tuples stored as lists still match
    os.utime(checkpoint, ns=(1, 1))  # a new time alone: same content, same key
    assert measure() == dict(top1=1.)
    assert capsys.readouterr().out == ''

    assert measure(samples=100) == dict(top1=2.)
    assert capsys.readouterr().out == (
        '[study] recomputing addp_3000_knn_seed0: NUM_SAMPLES changed 200 -> 100\n')
    write(checkpoint, 'retrained weights')
    assert measure(samples=100) == dict(top1=3.)
    assert capsys.readouterr().out == ('[study] recomputing addp_3000_knn_seed0: the checkpoint '
                                       'addp/iter_3000.pth changed\n')
    recipe.max_epochs = 40
    assert measure(samples=100) == dict(top1=4.)
    assert capsys.readouterr().out == ('[study] recomputing addp_3000_knn_seed0: the fine-tune '
                                       'config finetune.py changed\n')
    with open(path) as f:
        stored = json.load(f)
    assert stored['result'] == dict(top1=4.) and stored['key']['NUM_SAMPLES'] == 100


def test_cached_recomputes_a_result_stored_without_a_key(tmp_path, capsys):
    path = write(tmp_path / 'mage_samples_seed0.json', json.dumps(dict(digit_is=6.1)))
    compute = Counter()
    assert cached(path, dict(seed=0), compute) == dict(top1=1.)
    assert capsys.readouterr().out == (
        '[cache] recomputing mage_samples_seed0: no key was stored with it\n')


def test_key_changes_name_every_part_that_differs():
    stored = dict(seed=0, scale=1.0, iters=3000)
    assert key_changes(stored, dict(stored)) == []
    assert key_changes(stored, dict(seed=1, scale=1.0, judge='svc')) == [
        'seed changed 0 -> 1', 'judge is new in the key', 'iters is no longer in the key']
    assert key_changes(dict(checkpoint=dict(file='a.pth', sha256='1')),
                       dict(checkpoint=dict(file='a.pth', sha256=None))) == [
                           'the checkpoint a.pth is missing']


def test_config_part_compares_entries_not_their_order():
    first, second = Config(dict(a=1, b=dict(c=2))), Config(dict(b=dict(c=2), a=1))
    assert config_part(first) == config_part(second)
    second.merge_from_dict({'b.c': 3})
    assert config_part(first) != config_part(second)


def stage_key_of(recipe: str, *options: str) -> dict:
    """The key that ``python -m addp.measurement_cache stage-key`` prints, as run_study.sh runs
    it."""
    printed = subprocess.run(
        [sys.executable, '-m', 'addp.measurement_cache', 'stage-key', recipe, '--cfg-options',
         *options], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return json.loads(printed)


def test_stage_key_entry_point_sees_a_changed_cfg_option_and_a_frozen_file(tmp_path,
                                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = write(tmp_path / 'recipe.py', RECIPE)
    tokenizer = write(tmp_path / 'tokenizer.ckpt', 'codes')
    option = f'model.tokenizer.checkpoint={tokenizer}'
    key = stage_key_of(recipe, 'train_cfg.max_iters=3000', option)
    assert stage_key_of(recipe, 'train_cfg.max_iters=3000', option) == key
    shorter = stage_key_of(recipe, 'train_cfg.max_iters=2000', option)
    assert shorter['config']['sha256'] != key['config']['sha256']
    assert key[option.split('=')[0]] == file_part(tokenizer)
    write(tokenizer, 'retrained codes')
    assert key_changes(key, stage_key_of(recipe, 'train_cfg.max_iters=3000', option)) == [
        'the model.tokenizer.checkpoint tokenizer.ckpt changed']


def test_stage_check_skips_a_done_stage_and_moves_a_changed_one_aside(tmp_path, monkeypatch,
                                                                      capsys):
    monkeypatch.chdir(tmp_path)
    recipe, stage_dir, exported = write('recipe.py', RECIPE), 'tokenizer', 'tokenizer.ckpt'
    check = ['stage-check', recipe, stage_dir, exported, '--prefix', '[study]']
    assert main(check) == RUN_STAGE  # nothing there: train
    assert osp.isfile(osp.join(stage_dir, STAGE_KEY_FILE))
    assert main(check) == RUN_STAGE  # not finished: the same key's run resumes
    assert sorted(os.listdir()) == ['recipe.py', 'tokenizer']
    write(osp.join(stage_dir, 'iter_5.pth'), 'trained')
    write(exported, 'exported')
    assert capsys.readouterr().out == ''
    assert main(check) == 0
    assert capsys.readouterr().out == f'[study] tokenizer: done before ({exported}), same key\n'

    assert main(check + ['--cfg-options', 'train_cfg.max_iters=7']) == RUN_STAGE
    line = capsys.readouterr().out
    aside = line.rsplit(' ', 1)[-1].strip()
    assert aside.startswith('tokenizer.replaced-')
    assert line == ('[study] rerunning tokenizer from scratch: the config recipe.py changed; the '
                    f'earlier outputs are moved to {aside}\n')
    with open(osp.join(aside, 'iter_5.pth')) as f:  # the finished run is kept, with its export
        assert f.read() == 'trained'
    assert osp.isfile(osp.join(aside, 'tokenizer.ckpt')) and not osp.exists(exported)
    assert os.listdir(stage_dir) == [STAGE_KEY_FILE]  # the new run starts fresh


def test_stage_check_moves_aside_a_run_that_recorded_no_key(tmp_path, capsys):
    recipe = write(tmp_path / 'recipe.py', RECIPE)
    done = write(tmp_path / 'addp' / 'iter_5.pth', 'trained by an earlier version')
    assert not check_stage(str(tmp_path / 'addp'), done,
                           dict(config=config_part(Config.fromfile(recipe))))
    assert 'addp from scratch: no key was stored with it' in capsys.readouterr().out
    moved = [name for name in os.listdir(tmp_path) if name.startswith('addp.replaced-')]
    assert len(moved) == 1 and osp.isfile(osp.join(tmp_path, moved[0], 'iter_5.pth'))


def test_stage_key_refuses_a_missing_config(tmp_path):
    with pytest.raises(FileNotFoundError):
        main(['stage-key', str(tmp_path / 'missing.py')])
