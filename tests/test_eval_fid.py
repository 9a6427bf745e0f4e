"""tools/eval_fid.py and tools/prepare_imagenet_val.py on tiny folders, offline."""
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image
from torch_fidelity import register_feature_extractor
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from addp.evaluation import resolve_weights

TOOLS = osp.join(osp.dirname(__file__), '..', 'tools')
TINY_EXTRACTOR = 'addp-test-tiny'


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


eval_fid = _load_tool('eval_fid')
prepare_imagenet_val = _load_tool('prepare_imagenet_val')


class TinyFeatureExtractor(FeatureExtractorBase):
    """A conv and a linear layer whose weights must come from a file, like Inception's."""

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        super().__init__(name, features_list)
        if feature_extractor_weights_path is None:
            raise AssertionError('the tool passed no weights path')
        self.conv = nn.Conv2d(3, 6, 3, stride=2)
        self.fc = nn.Linear(6, 5)
        self.load_state_dict(torch.load(feature_extractor_weights_path, weights_only=True))

    def forward(self, x):
        feat = self.conv(x.float() / 255.).relu().mean(dim=(2, 3))
        out = {'feat': feat, 'logits': self.fc(feat)}
        return tuple(out[name] for name in self.features_list)

    @staticmethod
    def get_provided_features_list():
        return 'feat', 'logits'

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return 'logits' if metric == 'isc' else 'feat'

    @staticmethod
    def can_be_compiled():
        return False


if TINY_EXTRACTOR not in FEATURE_EXTRACTORS_REGISTRY:
    register_feature_extractor(TINY_EXTRACTOR, TinyFeatureExtractor)


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    """20 PNGs of noise, 20 of flat random colours, and the extractor's weights."""
    root = tmp_path_factory.mktemp('fid')
    rng = np.random.RandomState(0)
    os.makedirs(root / 'a')
    os.makedirs(root / 'b')
    for i in range(20):
        noise = rng.randint(0, 256, (32, 32, 3))
        flat = np.broadcast_to(rng.randint(0, 256, (1, 1, 3)), (32, 32, 3))
        Image.fromarray(noise.astype(np.uint8)).save(root / 'a' / f'{i:03d}.png')
        Image.fromarray(flat.astype(np.uint8)).save(root / 'b' / f'{i:03d}.png')
    torch.manual_seed(0)
    extractor = nn.ModuleDict(dict(conv=nn.Conv2d(3, 6, 3, stride=2), fc=nn.Linear(6, 5)))
    torch.save(extractor.state_dict(), root / 'tiny_extractor.pth')
    return {k: str(root / k) for k in ('a', 'b', 'tiny_extractor.pth')}


def _eval(folders, first, second, *extra):
    return eval_fid.main([folders[first], folders[second], '--device', 'cpu',
                          '--feature-extractor', TINY_EXTRACTOR, '--feature-extractor-weights',
                          folders['tiny_extractor.pth'], '--isc-splits', '2', *extra])


def test_fid_of_a_folder_with_itself_is_zero(folders, tmp_path):
    same = _eval(folders, 'a', 'a', '--out', str(tmp_path / 'metrics.json'))
    assert abs(same['fid']) < 1e-3
    assert same['is_mean'] >= 1.
    assert osp.isfile(tmp_path / 'metrics.json')
    different = _eval(folders, 'a', 'b', '--no-isc')
    assert set(different) == {'fid'} and different['fid'] > 1e-2


def test_precision_recall_use_their_own_extractor(folders):
    metrics = _eval(folders, 'a', 'a', '--no-isc', '--prc', '--prc-feature-extractor',
                    TINY_EXTRACTOR, '--prc-weights', folders['tiny_extractor.pth'])
    assert metrics['precision'] == pytest.approx(1.) and metrics['recall'] == pytest.approx(1.)


def test_weights_are_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    with pytest.raises(FileNotFoundError, match='weights-inception-2015-12-05.*never downloads'):
        resolve_weights('inception-v3-compat', None, '--feature-extractor-weights')
    cached = tmp_path / 'hub' / 'checkpoints' / 'vgg16-397923af.pth'
    os.makedirs(cached.parent)
    cached.write_bytes(b'')
    assert resolve_weights('vgg16', None, '--prc-weights') == str(cached)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        resolve_weights('vgg16', str(tmp_path / 'missing.pth'), '--prc-weights')


def test_empty_folder_is_named(folders, tmp_path):
    os.makedirs(tmp_path / 'empty')
    with pytest.raises(ValueError, match='no .png/.jpg images'):
        eval_fid.main([str(tmp_path / 'empty'), folders['a']])


def _jpeg(path, width, height):
    """Red, green and blue bands across the longer side; green is the middle half."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    length = max(width, height)
    band = np.arange(length) * 4 // length  # 0, 1, 1, 2 by quarters
    channel = np.where(band == 0, 0, np.where(band == 3, 2, 1))
    for c in range(3):
        mask = channel == c
        if width >= height:
            pixels[:, mask, c] = 255
        else:
            pixels[mask, :, c] = 255
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(pixels).save(path, quality=95)


def test_reference_set_is_the_center_crop_in_imagefolder_order(tmp_path):
    val = tmp_path / 'val'
    _jpeg(str(val / 'n02' / 'b.JPEG'), 512, 256)
    _jpeg(str(val / 'n01' / 'z.JPEG'), 300, 600)
    Image.new('RGB', (200, 200), (0, 0, 255)).save(val / 'n01' / 'a.JPEG')
    out = tmp_path / 'ref'
    assert prepare_imagenet_val.main([str(val), str(out), '--num-workers', '1']) == 3
    assert sorted(os.listdir(out)) == ['00000.png', '00001.png', '00002.png']
    images = [np.asarray(Image.open(out / f'{i:05d}.png')) for i in range(3)]
    assert all(image.shape == (256, 256, 3) for image in images)
    assert images[0][..., 2].min() > 240  # n01/a: the small blue square, upscaled
    for image in images[1:]:  # n01/z and n02/b: only the green middle half survives
        inner = image[8:-8, 8:-8].reshape(-1, 3).mean(0)
        assert inner[1] > 240 and inner[0] < 15 and inner[2] < 15
    # A second run keeps what is there.
    assert prepare_imagenet_val.main([str(val), str(out), '--num-workers', '1']) == 0


def _folder_statistics(folder, weights):
    """mu and sigma of the tiny extractor's FID features of a folder, computed here."""
    extractor = TinyFeatureExtractor(TINY_EXTRACTOR, ['feat'], weights)
    images = [np.asarray(Image.open(osp.join(folder, f))) for f in sorted(os.listdir(folder))]
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    with torch.no_grad():
        feats = extractor(batch)[0].double().numpy()
    return feats.mean(0), np.cov(feats, rowvar=False)


def test_fid_against_reference_statistics_equals_fid_against_the_folder(folders, tmp_path):
    mu, sigma = _folder_statistics(folders['b'], folders['tiny_extractor.pth'])
    np.savez(tmp_path / 'ref.npz', mu=mu, sigma=sigma)
    by_stats = eval_fid.main([folders['a'], '--ref-stats', str(tmp_path / 'ref.npz'),
                              '--device', 'cpu', '--feature-extractor', TINY_EXTRACTOR,
                              '--feature-extractor-weights', folders['tiny_extractor.pth'],
                              '--no-isc'])
    by_folder = _eval(folders, 'a', 'b', '--no-isc')
    assert by_stats['fid'] == pytest.approx(by_folder['fid'], rel=1e-4)
    assert by_stats['fid'] > 1e-2


@pytest.mark.parametrize('content, message', [
    (dict(mu=np.zeros(6)), r"lacks \['sigma'\]; it has \['mu'\]"),
    (dict(mu=np.zeros(6), sigma=np.eye(5)), r'"mu" has shape \(6,\) and "sigma" \(5, 5\)'),
    (dict(mu=np.zeros(4), sigma=np.eye(4)), 'reference statistics have 4 features.*gives 6'),
])
def test_bad_reference_statistics_are_named(folders, tmp_path, content, message):
    np.savez(tmp_path / 'ref.npz', **content)
    with pytest.raises(ValueError, match=message):
        eval_fid.main([folders['a'], '--ref-stats', str(tmp_path / 'ref.npz'), '--device', 'cpu',
                       '--feature-extractor', TINY_EXTRACTOR, '--feature-extractor-weights',
                       folders['tiny_extractor.pth'], '--no-isc'])


def test_reference_folder_or_statistics_not_both(folders, tmp_path):
    with pytest.raises(SystemExit):
        eval_fid.main([folders['a'], folders['b'], '--ref-stats', str(tmp_path / 'x.npz')])
