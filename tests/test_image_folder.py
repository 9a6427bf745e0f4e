"""A user's image folder: bad files named before training, hidden ones ignored, every image
read as opaque 8-bit colour, and folders too small for a batch refused in one line. The check
reads headers, is cached by path, size and mtime, runs on rank 0 alone under torch.distributed,
and a fixed-seed part of the folder can be held out for validation."""
import hashlib
import io
import json
import multiprocessing
import os
import socket

import numpy as np
import pytest
from PIL import Image, ImageFile
from pretrain_probes import run_train, write_config
from tool_modules import load_tool

from addp.datasets import (
    CheckedCustomDataset,
    LoadAnyImageFromFile,
    checked_folder,
    image_checks,
    verdict_cache,
)
from addp.errors import InvalidInputError


@pytest.fixture(autouse=True)
def cache_home(tmp_path_factory, monkeypatch):
    """Verdict caches go to a folder of the test's own, never to the user's ~/.cache."""
    home = tmp_path_factory.mktemp('cache_home')
    monkeypatch.setenv('XDG_CACHE_HOME', str(home))
    return home


@pytest.fixture
def checked_names(monkeypatch):
    """Names of the files the header check looks at, in order."""
    names = []
    real_check = image_checks.header_problem

    def counting_check(path):
        names.append(os.path.basename(path))
        return real_check(path)

    monkeypatch.setattr(image_checks, 'header_problem', counting_check)
    return names


def _png(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path)
    return path


def _grey(path, value):
    return _png(path, np.full((8, 8, 3), value, dtype=np.uint8))


def _good_folder(root, count=6):
    for i in range(count):
        _grey(root / f'{"ab"[i % 2]}' / f'{i}.png', 40 * i)
    return root


def _bad_files(root):
    """A truncated PNG (header intact, pixels cut), a text file named .png and an unsupported
    format."""
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    whole = _png(root / 'a' / 'whole.png', noise).read_bytes()
    (root / 'a' / 'truncated.png').write_bytes(whole[:len(whole) * 3 // 5])
    (root / 'b' / 'notes.png').write_text('not an image')
    (root / 'b' / 'photo.heic').write_bytes(b'\x00\x00\x00\x18ftypheic')


def _dataset(root, **kwargs):
    return CheckedCustomDataset(data_root=str(root), pipeline=[], **kwargs)


def _paths(dataset):
    return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


def test_bad_files_are_named_in_one_line_before_training(tmp_path):
    _good_folder(tmp_path)
    _bad_files(tmp_path)
    with pytest.raises(InvalidInputError) as info:
        _dataset(tmp_path)
    message = str(info.value)
    assert '\n' not in message
    assert message.startswith(f'3 files in {tmp_path} cannot be used: ')
    for name in ('a/truncated.png (image file is truncated', 'b/notes.png (not an image',
                 'b/photo.heic (unsupported format: .heic)'):
        assert name in message
    assert "bad_files='skip'" in message


def test_bad_files_are_left_out_with_a_warning_when_asked(tmp_path, monkeypatch):
    _good_folder(tmp_path)
    _bad_files(tmp_path)
    logged = []
    monkeypatch.setattr(checked_folder, 'print_log',
                        lambda msg, logger=None, level=20: logged.append((level, msg)))
    dataset = _dataset(tmp_path, bad_files='skip')
    names = sorted(os.path.basename(path) for path in _paths(dataset))
    assert names == ['0.png', '1.png', '2.png', '3.png', '4.png', '5.png', 'whole.png']
    assert [msg[:16] for level, msg in logged if level == 30] == ['left out 3 files']


def test_hidden_files_and_folders_are_ignored_and_never_a_class(tmp_path):
    _good_folder(tmp_path)
    # macOS resource forks and Finder files are not images, though named like them.
    (tmp_path / 'a' / '._0.png').write_bytes(b'\x00\x05\x16\x07 resource fork')
    (tmp_path / 'a' / '.DS_Store').write_bytes(b'\x00\x00\x00\x01Bud1')
    _grey(tmp_path / '.ipynb_checkpoints' / 'x.png', 3)
    dataset = _dataset(tmp_path)
    assert dataset.metainfo['classes'] == ('a', 'b')
    assert len(dataset) == 6
    assert not any('/.' in path for path in _paths(dataset))


def test_an_empty_folder_says_where_it_looked(tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / 'readme.txt').write_text('labels are folders')
    with pytest.raises(InvalidInputError, match=r"no images in .*; it holds a/readme.txt "
                       r'\(unsupported format: .txt\)'):
        _dataset(tmp_path)
    with pytest.raises(FileNotFoundError, match='image folder not found'):
        _dataset(tmp_path / 'missing')


def _load(path, **kwargs):
    return LoadAnyImageFromFile(**kwargs)(dict(img_path=str(path)))['img']


def test_transparent_images_are_composited_onto_the_stated_background(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., :3] = (255, 0, 0)  # red under the alpha
    rgba[:2, :, 3] = 255  # top half opaque red, bottom half fully transparent
    rgba[2, 0, 3] = 128  # one half-transparent pixel
    path = _png(tmp_path / 'rgba.png', rgba, 'RGBA')
    bgr = _load(path, background=(0, 0, 255))
    assert bgr.dtype == np.uint8 and bgr.shape == (4, 4, 3)
    assert bgr[0, 0].tolist() == [0, 0, 255]  # opaque red, in BGR order
    assert bgr[3, 3].tolist() == [255, 0, 0]  # the blue background, not the hidden red
    assert bgr[2, 0].tolist() == pytest.approx([127, 0, 128], abs=1)
    assert _load(path)[3, 3].tolist() == [255, 255, 255]  # white by default


def test_16_bit_images_are_scaled_not_clipped(tmp_path):
    wide = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    path = tmp_path / 'wide.png'
    Image.fromarray(wide).save(path)
    with Image.open(path) as image:
        assert image.mode.startswith('I')  # Pillow keeps 16 bits
    bgr = _load(path)
    assert bgr[0, :, 0].tolist() == [0, 1, 128, 255]
    assert (bgr == bgr[..., :1]).all()  # grey stays grey in three channels


def test_a_folder_smaller_than_one_batch_is_refused_in_one_line(tmp_path):
    for i in range(3):
        _grey(tmp_path / 'mine' / f'{i}.png', 60 * i)
    config = write_config(str(tmp_path / 'cfg.py'), "train_dataloader = dict(dataset=dict("
                          "data_root='mine', data_prefix=''))\n")
    result = run_train(str(tmp_path), config, '--work-dir', 'wd')
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == (
        'train.py: error: the training data has 3 images, fewer than one global batch of 8 '
        '(8 per process x 1 processes); lower train_dataloader.batch_size to at most 3, or add '
        'images.')
    assert 'Traceback' not in result.stderr
    assert not list(tmp_path.glob('wd/*.pth'))


def _jpeg_bytes(fmt='JPEG'):
    noise = np.random.default_rng(1).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, fmt)
    return buffer.getvalue()


def _broken_and_odd_files(folder):
    """Files the header check must refuse, and three it must accept: a JPEG, the same with
    extra bytes after its end, and a GIF cut in its pixel data (which only a decode notices)."""
    folder.mkdir(parents=True)
    jpeg, png, gif = _jpeg_bytes(), _jpeg_bytes('PNG'), _jpeg_bytes('GIF')
    idat = png.index(b'IDAT') + 10
    files = {'good.jpg': jpeg, 'trailing.jpg': jpeg + b'\x00\x00 extra bytes',
             'cut_pixels.jpg': jpeg[:len(jpeg) * 3 // 5], 'cut_header.jpg': jpeg[:30],
             'cut.png': png[:len(png) * 3 // 5],
             'flipped.png': png[:idat] + bytes([png[idat] ^ 0xFF]) + png[idat + 1:],
             'text.jpg': b'not an image', 'cut.gif': gif[:len(gif) // 2]}
    for name, data in files.items():
        (folder / name).write_bytes(data)


def test_the_header_check_refuses_broken_files_and_decodes_only_unended_jpegs(
        tmp_path, monkeypatch):
    _broken_and_odd_files(tmp_path / 'a')
    decoded = []
    real_load = ImageFile.ImageFile.load

    def counting_load(image):
        decoded.append(os.path.basename(getattr(image.fp, 'name', '')))
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, 'load', counting_load)
    reasons = {name: image_checks.header_problem(str(tmp_path / 'a' / name))
               for name in sorted(os.listdir(tmp_path / 'a'))}
    assert reasons.pop('cut_pixels.jpg').startswith('image file is truncated (')
    assert reasons.pop('flipped.png').startswith('image file is corrupt (broken PNG file')
    assert reasons == {
        'cut.gif': None, 'good.jpg': None, 'trailing.jpg': None,
        'cut.png': 'image file is truncated (cut short after its header)',
        'cut_header.jpg': 'image file is truncated (cut short in its header)',
        'text.jpg': 'not an image Pillow can identify'}
    # Only JPEGs without their end marker are decoded, to tell extra bytes from a cut.
    assert sorted(decoded) == ['cut_pixels.jpg', 'trailing.jpg']

    def kept(check_images):
        dataset = _dataset(tmp_path, bad_files='skip', check_images=check_images,
                           check_cache=False)
        return sorted(os.path.basename(path) for path in _paths(dataset))

    assert kept('header') == kept(True) == ['cut.gif', 'good.jpg', 'trailing.jpg']
    assert kept('decode') == ['good.jpg', 'trailing.jpg']
    assert kept(False) == sorted(os.listdir(tmp_path / 'a'))


def test_check_images_takes_true_false_or_a_mode():
    assert [image_checks.check_mode(value) for value in (True, False, None, 'header',
                                                          'decode')] == [
        'header', None, None, 'header', 'decode']
    with pytest.raises(InvalidInputError, match="check_images must be 'header', 'decode' or "
                       "False .*got 'full'"):
        image_checks.check_mode('full')


def test_a_second_build_rechecks_only_changed_files(tmp_path, checked_names):
    data = _good_folder(tmp_path / 'data')
    (data / 'b' / 'notes.png').write_text('not an image')
    first = _dataset(data, bad_files='skip')
    assert sorted(checked_names) == ['0.png', '1.png', '2.png', '3.png', '4.png', '5.png',
                                     'notes.png']
    assert (first.check_summary['checked'], first.check_summary['cached']) == (7, 0)

    checked_names.clear()
    second = _dataset(data, bad_files='skip')
    assert checked_names == []
    assert (second.check_summary['checked'], second.check_summary['cached']) == (0, 7)
    assert _paths(second) == _paths(first)  # the bad file stays out on its cached verdict

    resized = data / 'a' / '0.png'
    old_size = resized.stat().st_size
    _png(resized, np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    assert resized.stat().st_size != old_size
    touched = data / 'b' / '1.png'
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # same size, new mtime
    _grey(data / 'b' / 'notes.png', 9)  # replaced by an image
    third = _dataset(data, bad_files='skip')
    assert sorted(checked_names) == ['0.png', '1.png', 'notes.png']
    assert (third.check_summary['checked'], third.check_summary['cached']) == (3, 4)
    assert len(third) == 7


@pytest.mark.parametrize('damage', ['{"format": 1, "folders": {', '{"format": 99}',
                                    'folders mapped to a list'])
def test_an_unreadable_cache_is_ignored_with_a_warning_and_rebuilt(tmp_path, monkeypatch,
                                                                   cache_home, damage):
    data = _good_folder(tmp_path / 'data')
    _dataset(data)
    [cache_file] = (cache_home / 'addp' / 'folder_checks').glob('*.json')
    if damage == 'folders mapped to a list':
        damage = json.dumps({'format': 1, 'folders': {str(data): [1, 2]}})
    cache_file.write_text(damage)
    logged = []
    monkeypatch.setattr(verdict_cache, 'print_log',
                        lambda msg, logger=None, level=20: logged.append((level, msg)))
    rebuilt = _dataset(data)
    [warning] = [msg for level, msg in logged if level == 30]
    assert warning.startswith(f'ignoring the image-check cache {cache_file}, which cannot be '
                              'read (')
    assert warning.endswith('); it will be rebuilt')
    assert rebuilt.check_summary['checked'] == 6
    assert str(data) in json.loads(cache_file.read_text())['folders']
    assert _dataset(data).check_summary['cached'] == 6


def test_the_cache_goes_where_check_cache_says(tmp_path, cache_home):
    data = _good_folder(tmp_path / 'data')
    assert _dataset(data, check_cache=False).check_summary['cache_file'] is None
    assert not list(cache_home.rglob('*.json'))
    default = _dataset(data).check_summary['cache_file']
    name = hashlib.sha1(str(data).encode()).hexdigest()[:16] + '.json'
    assert default == str(cache_home / 'addp' / 'folder_checks' / name)
    own_file = tmp_path / 'checks.json'
    _dataset(data, check_cache=str(own_file))
    assert list(json.loads(own_file.read_text())['folders']) == [str(data)]
    _dataset(data, check_cache=str(tmp_path / 'caches'))
    assert os.listdir(tmp_path / 'caches') == [name]
    with pytest.raises(InvalidInputError, match='check_cache must be True, False, None or a '
                       'path, got 3'):
        _dataset(data, check_cache=3)


def _held_out(relative, fraction=0.1, seed=0):
    """The documented membership rule, computed here independently."""
    digest = hashlib.sha1(f'{seed}:{relative}'.encode()).digest()
    return int.from_bytes(digest[:8], 'big') / 2**64 < fraction


def _many(root, count, start=0):
    """``count`` tiny PNGs, alternately in class folders a and b."""
    for i in range(start, start + count):
        _grey(root / 'ab'[i % 2] / f'{i:03d}.png', i % 256)
    return root


def _relative(dataset, root):
    return [os.path.relpath(path, root) for path in _paths(dataset)]


def _part(root, part, seed=0, fraction=0.1, **kwargs):
    return _dataset(root, holdout=dict(fraction=fraction, seed=seed, part=part),
                    check_images=False, **kwargs)


def test_holdout_parts_split_the_folder_by_a_hash_of_seed_and_path(tmp_path):
    data = _many(tmp_path / 'data', 200)
    everything = _relative(_dataset(data, check_images=False), data)
    val, train = _part(data, 'val'), _part(data, 'train')
    val_names, train_names = _relative(val, data), _relative(train, data)
    assert not set(val_names) & set(train_names)
    assert sorted(val_names + train_names) == sorted(everything)
    assert val_names == [name for name in everything if _held_out(name)]
    # 200 draws of probability 0.1: 20 expected, standard deviation 4.2; within 3 of them.
    assert 8 <= len(val_names) <= 32
    assert val.metainfo['classes'] == train.metainfo['classes'] == ('a', 'b')
    assert all(info['gt_label'] == 'ab'.index(info['img_path'].split(os.sep)[-2])
               for info in (val.get_data_info(i) for i in range(len(val))))
    assert _relative(_part(data, 'val'), data) == val_names
    other_seed = _relative(_part(data, 'val', seed=1), data)
    assert other_seed != val_names
    assert other_seed == [name for name in everything if _held_out(name, seed=1)]


def test_holdout_membership_ignores_other_files_the_layout_and_annotation_subsets(tmp_path):
    data = _many(tmp_path / 'data', 120)
    val_names = _relative(_part(data, 'val', fraction=0.3), data)
    _many(data, 60, start=120)
    grown = _relative(_part(data, 'val', fraction=0.3), data)
    assert [name for name in grown if int(name[2:5]) < 120] == val_names
    unlabelled = _relative(_part(data, 'val', fraction=0.3, with_label=False), data)
    assert unlabelled == grown
    listed = sorted(os.path.relpath(path, data) for path in map(str, data.rglob('*.png')))[::2]
    (data / 'subset.txt').write_text(''.join(f'{name} {"ab".index(name[0])}\n'
                                             for name in listed))
    subset = _part(data, 'val', fraction=0.3, ann_file='subset.txt',
                   metainfo=dict(classes=('a', 'b')))
    assert _relative(subset, data) == [name for name in listed if name in grown]


def test_holdout_checks_only_the_part_it_keeps(tmp_path, checked_names):
    data = _many(tmp_path / 'data', 40)
    bad = [f'a/bad_{i}.png' for i in range(100)]
    bad_val = next(name for name in bad if _held_out(name, fraction=0.5))
    bad_train = next(name for name in bad if not _held_out(name, fraction=0.5))
    for name in (bad_val, bad_train):
        (data / name).write_text('not an image')
    everything = _relative(_dataset(data, check_images=False), data)
    held_out = [name for name in everything if _held_out(name, fraction=0.5)]
    holdout = dict(fraction=0.5, seed=0)
    with pytest.raises(InvalidInputError) as info:
        _dataset(data, holdout=dict(holdout, part='val'))
    assert str(info.value).startswith(f'1 files in {data} cannot be used: {bad_val} (')
    assert sorted(checked_names) == sorted(os.path.basename(name) for name in held_out)
    with pytest.raises(InvalidInputError, match=f'cannot be used: {bad_train} '):
        _dataset(data, holdout=dict(holdout, part='train'))


def test_an_empty_holdout_part_names_the_folder_and_the_fraction(tmp_path):
    data = _many(tmp_path / 'data', 3)
    assert not any(_held_out(f'{"ab"[i % 2]}/{i:03d}.png', 1e-6) for i in range(3))
    with pytest.raises(InvalidInputError, match=rf"^the holdout part 'val' of '{data}' is "
                       r'empty: none of its 3 images falls in it with fraction 1e-06 and seed '
                       r'0; raise holdout fraction towards 0.5, or add images$'):
        _part(data, 'val', fraction=1e-6)


@pytest.mark.parametrize('holdout,problem', [
    (dict(fraction=0.1, part='val', sed=0), "holdout has unknown keys ['sed']"),
    (dict(fraction=0, part='val'), 'holdout fraction must lie strictly between 0 and 1, got 0'),
    (dict(fraction=1.0, part='val'), 'strictly between 0 and 1, got 1.0'),
    (dict(fraction='0.1', part='val'), "strictly between 0 and 1, got '0.1'"),
    (dict(fraction=True, part='val'), 'strictly between 0 and 1, got True'),
    (dict(fraction=0.1, part='test'), "holdout part must be 'train' or 'val', got 'test'"),
    (dict(fraction=0.1), "holdout part must be 'train' or 'val', got None"),
    (dict(fraction=0.1, part='val', seed=0.5), 'holdout seed must be an integer, got 0.5'),
    ([0.1, 'val'], 'holdout must be a dict'),
])
def test_bad_holdout_dicts_are_refused_in_one_line(tmp_path, holdout, problem):
    with pytest.raises(InvalidInputError) as info:
        _dataset(tmp_path, holdout=holdout)
    message = str(info.value)
    assert problem in message and '\n' not in message
    assert "holdout=dict(fraction=0.1, seed=0, part='val')" in message


def _rank_main(rank: int, port: int, root: str, out: str) -> None:
    """One rank of two: builds the dataset three ways, and records what it checked and got."""
    import torch.distributed as dist
    calls = []
    real_check = image_checks.header_problem

    def counted(path):
        calls.append(path)
        return real_check(path)

    def failing(path):
        raise RuntimeError('the disk went away')

    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=2)
    results = {}
    for scenario, options, check in (('skip', dict(bad_files='skip'), counted),
                                     ('error', {}, counted), ('failure', {}, failing)):
        calls.clear()
        image_checks.header_problem = check  # this forked process's copy only
        try:
            dataset = _dataset(root, check_cache=False, **options)
            outcome = _paths(dataset)
        except Exception as err:
            outcome = f'{type(err).__name__}: {err}'
        results[scenario] = dict(calls=len(calls), outcome=outcome)
    dist.destroy_process_group()
    with open(out, 'w') as f:
        json.dump(results, f)


def test_rank_zero_checks_and_every_rank_gets_its_verdict(tmp_path):
    data = _good_folder(tmp_path / 'data')
    _bad_files(data)
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    # Forked, the ranks start in a moment: the imports are done already.
    context = multiprocessing.get_context('fork')
    ranks = [context.Process(target=_rank_main, args=(rank, port, str(data),
                                                      str(tmp_path / f'rank{rank}.json')))
             for rank in (0, 1)]
    for rank in ranks:
        rank.start()
    for rank in ranks:
        rank.join(timeout=120)
    hung = [rank.is_alive() for rank in ranks]
    for rank in ranks:
        if rank.is_alive():
            rank.kill()
    # A rank left waiting for a verdict would hang: the timeout turns that into a failure.
    assert hung == [False, False]
    assert [rank.exitcode for rank in ranks] == [0, 0]
    zero, one = (json.loads((tmp_path / f'rank{rank}.json').read_text()) for rank in (0, 1))
    assert (zero['skip']['calls'], one['skip']['calls']) == (9, 0)
    assert zero['skip']['outcome'] == one['skip']['outcome']
    assert len(zero['skip']['outcome']) == 7
    assert zero['error']['outcome'] == one['error']['outcome']
    assert zero['error']['outcome'].startswith(f'InvalidInputError: 3 files in {data} cannot')
    assert zero['failure']['outcome'] == one['failure']['outcome'] == (
        'RuntimeError: the disk went away')


def test_folder_check_benchmark_reports_a_first_run_a_cached_rerun_and_a_projection(capsys):
    result = load_tool('benchmark').main(['folder-check', '--num-files', '300', '--size', '16',
                                          '--imagenet-files', '20', '--workers', '2'])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith('folder-check: 300 JPEGs of 16x16 px in class folders')
    assert lines[1].startswith('first check: 300 checked, 0 from the cache, ')
    assert lines[2].startswith('unchanged rerun: 0 checked, 300 from the cache, ')
    assert lines[3].startswith('ImageNet-size JPEGs (500x375, quality 90, mean ')
    assert lines[4].startswith('projected for 1,281,167 files, one checking rank: ')
    assert result['projected_seconds'] == pytest.approx(
        1281167 / result['imagenet_files_per_second'])
    assert min(result.values()) > 0
