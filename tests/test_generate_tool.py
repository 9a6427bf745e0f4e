"""tools/generate.py end to end on the tiny random model: files, resume, sharding, errors."""
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

import addp.apis.folder_sampling as folder_sampling
from addp.apis.sample_folder import shard_indices
from addp.checkpoint import CheckpointKeyError, convert_to_official_pretrain
from addp.fileio import write_atomically
from addp.registry import MODELS
from addp.testing import tiny_addp_cfg

TOOL = osp.join(osp.dirname(__file__), '..', 'tools', 'generate.py')
FAST = ['--num-steps', '4', '--batch-size', '2']


def _load_tool():
    spec = importlib.util.spec_from_file_location('generate_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_tool()


@pytest.fixture(scope='module')
def files(tmp_path_factory, tiny_frozen_files):
    """A tiny config file, an MMEngine checkpoint and the same weights in official format."""
    init_default_scope('addp')
    root = tmp_path_factory.mktemp('generate')
    cfg = tiny_addp_cfg(tiny_frozen_files['vqgan'], tiny_frozen_files['mage'])
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    paths = dict(config=str(root / 'tiny.py'), ours=str(root / 'ours.pth'),
                 official=str(root / 'official.pth'))
    Config(dict(model=cfg)).dump(paths['config'])
    torch.save({'state_dict': model.state_dict(), 'meta': {'epoch': 1}}, paths['ours'])
    frozen = {f'{name}.{k}': v for name in ('tokenizer', 'token_predictor')
              for k, v in getattr(model, name).state_dict().items()}
    torch.save({'model': convert_to_official_pretrain(model.state_dict(), frozen)},
               paths['official'])
    return paths


def _run(files, out, *extra, checkpoint='ours', num_images=5):
    return generate.main([files['config'], files[checkpoint], '--num-images', str(num_images),
                          '--out', str(out), *FAST, *extra])


def _folder_bytes(out):
    images = osp.join(out, 'images')
    return {name: open(osp.join(images, name), 'rb').read() for name in os.listdir(images)}


def _pixels(out, name):
    return np.asarray(Image.open(osp.join(out, 'images', name))).astype(int)


def test_writes_pngs_grid_and_settings(files, tmp_path):
    summary = _run(files, tmp_path / 'out', '--seed', '3')
    assert summary['generated'] == 5 and summary['skipped'] == 0
    names = sorted(os.listdir(tmp_path / 'out' / 'images'))
    assert names == [f'{i:06d}.png' for i in range(5)]
    with Image.open(tmp_path / 'out' / 'images' / names[0]) as image:
        assert (image.format, image.mode, image.size) == ('PNG', 'RGB', (32, 32))
    with Image.open(tmp_path / 'out' / 'grid.png') as grid:  # 3 x 2 tiles, 2 px padding
        assert grid.size == (3 * 34 + 2, 2 * 34 + 2)
    settings = json.load(open(tmp_path / 'out' / 'settings.json'))
    assert settings['sample']['seed'] == 3 and settings['sample']['num_steps'] == 4
    assert settings['sample']['image_size'] == [32, 32] and settings['run']['num_images'] == 5
    assert len(set(_folder_bytes(tmp_path / 'out').values())) == 5


def test_official_and_mmengine_checkpoints_sample_the_same_images(files, tmp_path):
    _run(files, tmp_path / 'ours', num_images=2)
    _run(files, tmp_path / 'official', checkpoint='official', num_images=2)
    assert _folder_bytes(tmp_path / 'ours') == _folder_bytes(tmp_path / 'official')


def test_resume_after_interruption_writes_the_same_bytes(files, tmp_path, monkeypatch):
    _run(files, tmp_path / 'whole')
    real_save, calls = folder_sampling.save_png, []

    def save_then_interrupt(image, path):
        if len(calls) == 3:  # mid-batch: images 0-2 written, 3 not
            raise KeyboardInterrupt
        calls.append(path)
        real_save(image, path)

    monkeypatch.setattr(folder_sampling, 'save_png', save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        _run(files, tmp_path / 'resumed')
    monkeypatch.setattr(folder_sampling, 'save_png', real_save)
    assert sorted(os.listdir(tmp_path / 'resumed' / 'images')) == [
        f'{i:06d}.png' for i in range(3)]
    summary = _run(files, tmp_path / 'resumed')
    assert (summary['generated'], summary['skipped']) == (2, 3)
    assert _folder_bytes(tmp_path / 'resumed') == _folder_bytes(tmp_path / 'whole')


def test_batch_size_changes_no_image(files, tmp_path):
    _run(files, tmp_path / 'b2')
    _run(files, tmp_path / 'b5', '--batch-size', '5')
    for i in range(5):
        diff = np.abs(_pixels(tmp_path / 'b2', f'{i:06d}.png') - _pixels(tmp_path / 'b5',
                                                                         f'{i:06d}.png'))
        assert diff.max() <= 1  # float rounding of a different batch shape only


def test_processes_share_indices_without_overlap(files, tmp_path, monkeypatch):
    assert shard_indices(10, 1, 3) == [1, 4, 7]
    shards = [shard_indices(10, r, 3) for r in range(3)]
    assert sorted(sum(shards, [])) == list(range(10))
    _run(files, tmp_path / 'single')
    monkeypatch.setattr(folder_sampling, 'barrier', lambda: None)
    written = []
    for rank in (0, 1):  # rank 0 creates the folder before the others start
        monkeypatch.setattr(folder_sampling, 'get_dist_info', lambda rank=rank: (rank, 2))
        before = set(os.listdir(tmp_path / 'shared' / 'images')) if written else set()
        _run(files, tmp_path / 'shared')
        written.append(set(os.listdir(tmp_path / 'shared' / 'images')) - before)
    assert written == [{f'{i:06d}.png' for i in (0, 2, 4)}, {f'{i:06d}.png' for i in (1, 3)}]
    for i in range(5):
        diff = np.abs(_pixels(tmp_path / 'single', f'{i:06d}.png') -
                      _pixels(tmp_path / 'shared', f'{i:06d}.png'))
        assert diff.max() <= 1


def test_editing_writes_variants_and_input_preview(files, tmp_path):
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (40, 40, 3), np.uint8)).save(
        tmp_path / 'photo.png')
    _run(files, tmp_path / 'edit', '--image', str(tmp_path / 'photo.png'), '--keep-box',
         '10,10,30,30', num_images=3)
    assert sorted(os.listdir(tmp_path / 'edit' / 'images')) == [f'{i:06d}.png' for i in range(3)]
    with Image.open(tmp_path / 'edit' / 'input.png') as preview:
        assert preview.size == (32, 32)
    edit = json.load(open(tmp_path / 'edit' / 'settings.json'))['sample']['edit']
    assert edit['keep_box'] == [10, 10, 30, 30] and len(edit['image_sha256']) == 64


def _assert_nothing_written(out):
    assert not osp.exists(out), sorted(os.listdir(out))


def test_wrong_checkpoint_writes_nothing(files, tmp_path):
    state = torch.load(files['ours'])['state_dict']
    state['neck.embed.weight'] = state['neck.embed.weight'][:, :16]
    torch.save({'state_dict': state}, tmp_path / 'other.pth')
    with pytest.raises(CheckpointKeyError, match='neck.embed.weight'):
        generate.main([files['config'], str(tmp_path / 'other.pth'), '--num-images', '2',
                       '--out', str(tmp_path / 'out')])
    del state['neck.norm.bias']
    torch.save({'state_dict': state}, tmp_path / 'other.pth')
    with pytest.raises(CheckpointKeyError):
        generate.main([files['config'], str(tmp_path / 'other.pth'), '--num-images', '2',
                       '--out', str(tmp_path / 'out')])
    _assert_nothing_written(tmp_path / 'out')


def test_wrong_image_size_writes_nothing(files, tmp_path):
    with pytest.raises(ValueError, match='image size'):
        _run(files, tmp_path / 'out', '--cfg-options', 'model.backbone.img_size=48')
    _assert_nothing_written(tmp_path / 'out')


def test_wrong_mask_size_writes_nothing(files, tmp_path):
    Image.new('RGB', (40, 40)).save(tmp_path / 'photo.png')
    Image.new('L', (32, 40), 255).save(tmp_path / 'mask.png')
    with pytest.raises(ValueError, match='must have the size of the image'):
        _run(files, tmp_path / 'out', '--image', str(tmp_path / 'photo.png'), '--mask',
             str(tmp_path / 'mask.png'))
    with pytest.raises(SystemExit):  # a mask without an image is a usage error
        _run(files, tmp_path / 'out', '--mask', str(tmp_path / 'mask.png'))
    _assert_nothing_written(tmp_path / 'out')


def test_other_settings_never_touch_earlier_images(files, tmp_path):
    _run(files, tmp_path / 'out', num_images=2)
    before = _folder_bytes(tmp_path / 'out')
    with pytest.raises(ValueError, match='seed: 0 then, 1 now'):
        _run(files, tmp_path / 'out', '--seed', '1', num_images=4)
    assert _folder_bytes(tmp_path / 'out') == before
    # More images with the same settings extend the folder.
    assert _run(files, tmp_path / 'out', num_images=3)['generated'] == 1


def test_interrupted_write_leaves_no_file(tmp_path):
    target = tmp_path / 'a.png'
    target.write_bytes(b'earlier')

    def half_then_interrupt(tmp):
        with open(tmp, 'wb') as file:
            file.write(b'half')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(str(target), half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(str(tmp_path / 'b.png'), half_then_interrupt)
    assert sorted(os.listdir(tmp_path)) == ['a.png'] and target.read_bytes() == b'earlier'


@pytest.fixture(scope='module')
def conditional_files(tmp_path_factory, tiny_frozen_files):
    """A tiny class-conditional model (10 classes) as a config file and a checkpoint."""
    init_default_scope('addp')
    root = tmp_path_factory.mktemp('conditional')
    cfg = tiny_addp_cfg(tiny_frozen_files['vqgan'], None)
    for part in ('neck', 'token_predictor'):
        cfg[part].update(class_conditional=True, num_classes=10)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    paths = dict(config=str(root / 'conditional.py'), ours=str(root / 'conditional.pth'))
    Config(dict(model=cfg)).dump(paths['config'])
    torch.save({'state_dict': model.state_dict()}, paths['ours'])
    return paths


def _run_classes(files, out, *extra):
    return generate.main([files['config'], files['ours'], '--out', str(out), *FAST, *extra])


def test_classes_write_one_resumable_folder_per_class(conditional_files, tmp_path):
    out = tmp_path / 'classes'
    args = ['--classes', '3,0', '--per-class', '2', '--cfg-scale', '2', '--cfg-schedule',
            'linear']
    summaries = _run_classes(conditional_files, out, *args)
    assert sorted(os.listdir(out)) == ['0', '3']
    assert {c: s['generated'] for c, s in summaries.items()} == {0: 2, 3: 2}
    settings = json.load(open(out / '3' / 'settings.json'))['sample']
    assert (settings['class_label'], settings['cfg_scale'], settings['cfg_schedule']) == (
        3, 2.0, 'linear')
    first = {c: _folder_bytes(out / c) for c in ('0', '3')}
    assert first['0'] != first['3']
    again = _run_classes(conditional_files, out, *args)
    assert {c: s['skipped'] for c, s in again.items()} == {0: 2, 3: 2}
    assert {c: _folder_bytes(out / c) for c in ('0', '3')} == first
    with pytest.raises(ValueError, match='cfg_scale'):  # another scale never mixes in
        _run_classes(conditional_files, out, '--classes', '3', '--per-class', '2')


def test_each_class_draws_its_own_images_even_with_the_label_dropped(conditional_files,
                                                                     tmp_path):
    out = tmp_path / 'unguided'
    _run_classes(conditional_files, out, '--classes', '0,3', '--per-class', '2', '--cfg-scale',
                 '0')
    # w = 0 samples both folders unconditionally: only the per-class streams tell them apart.
    zero, three = (set(_folder_bytes(out / c).values()) for c in ('0', '3'))
    assert len(zero) == len(three) == 2 and zero.isdisjoint(three)


def test_editing_takes_a_class(conditional_files, tmp_path):
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (32, 32, 3), np.uint8)).save(
        tmp_path / 'photo.png')
    _run_classes(conditional_files, tmp_path / 'edit', '--image', str(tmp_path / 'photo.png'),
                 '--keep-box', '0,0,32,16', '--classes', '7', '--per-class', '2')
    assert sorted(os.listdir(tmp_path / 'edit' / '7' / 'images')) == ['000000.png', '000001.png']
    assert osp.exists(tmp_path / 'edit' / '7' / 'input.png')


def test_classes_the_model_cannot_serve_are_refused_before_writing(files, conditional_files,
                                                                    tmp_path):
    out = tmp_path / 'out'
    with pytest.raises(ValueError, match='this checkpoint is unconditional'):
        generate.main([files['config'], files['ours'], '--out', str(out), '--classes', '1',
                       '--per-class', '2'])
    with pytest.raises(ValueError, match='class 12 is not one this model knows'):
        _run_classes(conditional_files, out, '--classes', '1,12', '--per-class', '2')
    with pytest.raises(ValueError, match='needs classes'):
        _run_classes(conditional_files, out, '--num-images', '2', '--cfg-scale', '3')
    _assert_nothing_written(out)
    for bad in (['--classes', '1'], ['--classes', 'seven', '--per-class', '2'],
                ['--per-class', '2', '--num-images', '2']):
        with pytest.raises(SystemExit):
            _run_classes(conditional_files, out, *bad)
