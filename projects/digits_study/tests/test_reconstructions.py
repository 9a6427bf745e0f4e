"""The reconstruction panel of the two token layouts reads held-out train images and each
layout's own tokenizer file."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from addp.checkpoint import released_layout
from addp.errors import CheckpointKeyError
from addp.metrics import psnr
from addp.registry import MODELS
from projects.digits_study.addp_study import reconstructions


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for split, count in (('train', 30), ('test', 3)):
        for i in range(count):
            (tmp_path / split / str(i % 3)).mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / split / str(i % 3) / f'{i}.png')
    return tmp_path


def _random_tokenizer_files(folder):
    """One random tokenizer file per layout, in the released layout the study exports."""
    init_default_scope('addp')
    paths = []
    for seed, config in enumerate(reconstructions.LAYOUT_CONFIGS.values()):
        torch.manual_seed(seed)
        tokenizer = MODELS.build(Config.fromfile(config).model.tokenizer)
        torch.nn.init.normal_(tokenizer.quantize.embedding.weight, std=0.5)
        path = folder / f'tokenizer{seed}.ckpt'
        torch.save(released_layout('tokenizer', tokenizer.state_dict()), path)
        paths.append(str(path))
    return paths


def test_panel_shows_held_out_images_through_each_layouts_tokenizer(folder, tmp_path):
    checkpoints = _random_tokenizer_files(folder)
    rows = reconstructions.panel_rows([('toy', str(folder), *checkpoints)], count=4)
    assert [title.split(',')[0] for title, _ in rows] == [
        'toy: real (validation part)', 'toy: 4 x 4 grid', 'toy: 8 x 8 grid']
    real = rows[0][1]
    # The held-out tenth of train (3 of 30 images), never the test split.
    train_files = {tuple(np.asarray(Image.open(p)).ravel()[:64]) for p in folder.glob('train/*/*')}
    test_files = {tuple(np.asarray(Image.open(p)).ravel()[:64]) for p in folder.glob('test/*/*')}
    shown = {tuple((image.permute(1, 2, 0) * 255).round().byte().numpy().ravel()[:64])
             for image in real}
    assert 0 < len(shown) <= 4 and shown <= train_files and not shown & test_files
    for (title, rebuilt), (layout, checkpoint) in zip(
            rows[1:], zip(reconstructions.LAYOUT_CONFIGS, checkpoints)):
        assert rebuilt.shape == real.shape
        assert torch.equal(rebuilt, reconstructions.reconstruct(layout, checkpoint, real))
        assert title.endswith(f'{float(psnr(rebuilt, real).mean()):.2f} dB')
    # Each layout decodes from its own grid: the two rebuilds differ.
    assert not torch.equal(rows[1][1], rows[2][1])
    out = tmp_path / 'panel.png'
    assert reconstructions.main([str(out), '--folder', 'toy', str(folder), *checkpoints,
                                 '--num-images', '3']) == 0
    assert Image.open(out).size[0] > 100


def test_a_tokenizer_of_the_other_layout_is_refused(folder):
    checkpoints = _random_tokenizer_files(folder)
    with pytest.raises(CheckpointKeyError, match='shape mismatch loading .*tokenizer1.ckpt'):
        reconstructions.panel_rows([('toy', str(folder), *reversed(checkpoints))], count=2)
