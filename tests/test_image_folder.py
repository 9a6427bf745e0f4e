"""A user's image folder: bad files named before training, hidden ones ignored, every image
read as opaque 8-bit colour, and folders too small for a batch refused in one line."""
import os

import numpy as np
import pytest
from PIL import Image
from pretrain_probes import run_train, write_config

from addp.datasets import CheckedCustomDataset, LoadAnyImageFromFile, checked_folder
from addp.errors import InvalidInputError


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
