"""The pretraining data pipeline reads ImageNet in both of mmpretrain's layouts."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import DATASETS
from PIL import Image
from pretrain_probes import REPO

from addp.registry import MODELS


def _fake_imagenet(root, layout):
    """Two classes of two JPEGs each, in the folder or the annotation-file layout."""
    rng = np.random.default_rng(0)
    lines = []
    for label, wnid in enumerate(['n01440764', 'n01443537']):
        for i in range(2):
            name = f'{wnid}_{i}.JPEG'
            relative = osp.join(wnid, name) if layout == 'folders' else name
            path = root / 'train' / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, size=(300 + 20 * i, 340, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(path)
            lines.append(f'{relative} {label}')
    if layout == 'annotation':
        (root / 'meta').mkdir()
        (root / 'meta' / 'train.txt').write_text('\n'.join(lines) + '\n')


@pytest.mark.parametrize('layout', ['folders', 'annotation'])
def test_pretrain_pipeline_gives_256px_images_in_unit_range(tmp_path, layout):
    _fake_imagenet(tmp_path, layout)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'addp', 'pretrain_base.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = str(tmp_path)
    # The real folder layout has all 1000 class folders; this one has two.
    dataset_cfg.metainfo = dict(classes=['n01440764', 'n01443537'])
    dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == 4
    if layout == 'annotation':
        assert dataset.ann_file.endswith(osp.join('meta', 'train.txt'))

    torch.manual_seed(0)
    batch = default_collate([dataset[i] for i in range(4)])
    assert batch['inputs'][0].shape == (3, 256, 256) and batch['inputs'][0].dtype == torch.uint8
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    pixels = preprocessor(batch)['inputs']
    assert pixels.shape == (4, 3, 256, 256)
    assert 0 <= pixels.min() and pixels.max() <= 1 and pixels.max() > 0.9
    # to_rgb: channel 0 holds the image's red channel (files load as BGR).
    raw = batch['inputs'][0].float() / 255
    assert torch.allclose(pixels[0], raw.flip(0))
