"""The smoke run's images and frozen stand-ins are written locally, identically every time."""
import numpy as np
import torch

from addp.checkpoint import read_checkpoint
from addp.datasets import draw_smoke_image, write_smoke_images
from addp.models.target_generators.stand_ins import write_frozen_stand_ins
from addp.testing import TINY_MAGE, TINY_VQGAN


def test_smoke_images_are_deterministic_and_varied():
    first = np.asarray(draw_smoke_image(3))
    assert first.shape == (64, 64, 3) and first.dtype == np.uint8
    assert np.array_equal(first, np.asarray(draw_smoke_image(3)))
    assert not np.array_equal(first, np.asarray(draw_smoke_image(4)))
    assert first.std() > 10  # shapes over a gradient, not a flat colour


def test_smoke_inputs_layout_and_reuse(tmp_path):
    frozen = tmp_path / 'frozen'
    paths = write_frozen_stand_ins(dict(TINY_VQGAN, checkpoint=str(frozen / 'vqgan.ckpt')),
                                   dict(TINY_MAGE, checkpoint=str(frozen / 'mage.pth')))
    write_smoke_images(str(tmp_path / 'images'), num_images=5)
    images = sorted((tmp_path / 'images').iterdir())
    assert [p.name for p in images] == [f'smoke_{i:03d}.png' for i in range(5)]
    vqgan = read_checkpoint(paths['vqgan'])
    assert 'quantize.embedding.weight' in vqgan  # bare, like vqgan_jax_strongaug.ckpt
    assert set(read_checkpoint(paths['mage'])) == {'model'}  # like mage-vit*-1600.pth

    # A second call keeps what is there and leaves no temporary files behind.
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob('*') if p.is_file()}
    again = write_frozen_stand_ins(dict(TINY_VQGAN, checkpoint=str(frozen / 'vqgan.ckpt')),
                                   dict(TINY_MAGE, checkpoint=str(frozen / 'mage.pth')))
    write_smoke_images(str(tmp_path / 'images'), num_images=5)
    assert again == paths
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob('*') if p.is_file()} == before
    assert torch.equal(read_checkpoint(again['vqgan'])['quantize.embedding.weight'],
                       vqgan['quantize.embedding.weight'])
