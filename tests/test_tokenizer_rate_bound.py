"""The k-means bound of a token layout (tools/tokenizer_rate_bound.py) on folders whose answer
is known."""
import numpy as np
import pytest
import torch
from PIL import Image
from tool_modules import load_tool

from addp.errors import InputNotFoundError, InvalidInputError

bound = load_tool('tokenizer_rate_bound')
# Four flat 4 x 4 colour patches; every image is a 2 x 2 arrangement of them.
COLOURS = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [40, 80, 200]], dtype=np.uint8)


def _write_tiled(folder, count, rng):
    folder.mkdir(parents=True)
    for i in range(count):
        tiles = COLOURS[rng.integers(0, 4, size=(2, 2))]
        image = np.kron(tiles.transpose(2, 0, 1), np.ones((4, 4), dtype=np.uint8))
        Image.fromarray(image.transpose(1, 2, 0)).save(folder / f'{i}.png')


@pytest.fixture
def tiled_root(tmp_path):
    rng = np.random.default_rng(0)
    _write_tiled(tmp_path / 'train' / 'a', 40, rng)
    # Never read: the bound is read on a held-out part of train.
    (tmp_path / 'test' / 'a').mkdir(parents=True)
    (tmp_path / 'test' / 'a' / 'unreadable.png').write_bytes(b'not an image')
    return tmp_path


def test_patches_are_row_major_and_invert_exactly():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    patches = bound.to_patches(images, 4)
    assert patches.shape == (8, 48)
    # The second patch of the first image is its top-right 4 x 4 block, channels first.
    assert torch.equal(patches[1], images[0, :, :4, 4:].reshape(-1))
    assert torch.equal(patches[4], images[1, :, :4, :4].reshape(-1))
    assert torch.equal(bound.from_patches(patches, images.shape, 4), images)


def test_enough_codes_rebuild_exactly_and_fewer_lose(tiled_root):
    baseline, bounds = bound.rate_bound(str(tiled_root), patch_size=4, codebook_sizes=[4, 2, 1])
    # Exact: psnr() clamps the squared error at 1e-10, 100 dB.
    assert bounds[4] == pytest.approx(100.0)
    assert bounds[1] < bounds[2] < 60
    held_out, train = (bound.read_split(str(tiled_root), part) for part in ('val', 'train'))
    # The recipes' tenth, apart from the part k-means fits, read pixel for pixel.
    assert 0 < len(held_out) < 10 and len(held_out) + len(train) == 40
    files = {path.name: torch.from_numpy(np.asarray(Image.open(path))).permute(2, 0, 1).float()
             / 255 for path in (tiled_root / 'train' / 'a').iterdir()}
    assert all(any(torch.equal(image, f) for f in files.values()) for image in held_out)
    mean = held_out.mean(0, keepdim=True)
    expected = (-10 * torch.log10((mean - held_out).pow(2).flatten(1).mean(1))).mean()
    assert baseline == pytest.approx(float(expected), abs=1e-4)
    # One centre is the train split's mean patch: close to, not above, the mean image.
    assert bounds[1] < baseline + 1


def test_cli_prints_margins_and_refuses_bad_folders(tiled_root, tmp_path, capsys):
    assert bound.main([str(tiled_root), '--patch-size', '4', '--num-codes', '4']) == 0
    # The last two lines: the folder check may log before them.
    lines = capsys.readouterr().out.splitlines()[-2:]
    assert lines[0].startswith('held-out mean image: ')
    assert lines[1].startswith('4 px patches, 4 codes (k-means): 100.00 dB (+')
    with pytest.raises(InvalidInputError, match='do not split into 3 px patches'):
        bound.rate_bound(str(tiled_root), patch_size=3, codebook_sizes=[2])
    with pytest.raises(InputNotFoundError, match='image folder not found'):
        bound.rate_bound(str(tmp_path / 'missing'), patch_size=4, codebook_sizes=[2])
    Image.new('RGB', (16, 16)).save(tiled_root / 'train' / 'a' / 'big.png')
    with pytest.raises(InvalidInputError, match='2 sizes'):
        bound.rate_bound(str(tiled_root), patch_size=4, codebook_sizes=[2], holdout_fraction=0.5)
