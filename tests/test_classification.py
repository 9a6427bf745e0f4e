"""Classification with ADDP: loading pretrained encoders, classes from a folder, and a tiny
fine-tune followed by ``tools/test.py``."""
import importlib.util
import json
import os
import os.path as osp
import sys
from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import MMLogger
from PIL import Image

import addp.engine.runners  # noqa: F401
from addp.checkpoint import convert_official_classifier, load_backbone_weights
from addp.engine.runners import set_num_classes_from_data
from addp.errors import InputNotFoundError, InvalidInputError
from addp.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO, 'configs', 'addp')
GOLDEN = osp.join(REPO, 'tests', 'data', 'addp_official_tiny.pt')
CLASSES = ['cat', 'dog', 'owl']


def make_image_folder(root: str, classes=CLASSES, per_class=(4, 2), seed: int = 0) -> str:
    """``train/`` and ``val/`` with one subfolder of small PNGs per class; each class has its
    own mean brightness so that a classifier can tell them apart."""
    rng = np.random.default_rng(seed)
    for split, count in zip(('train', 'val'), per_class):
        for index, name in enumerate(classes):
            os.makedirs(osp.join(root, split, name), exist_ok=True)
            for i in range(count):
                pixels = rng.normal(60 + 70 * index, 30, (40, 48, 3)).clip(0, 255)
                Image.fromarray(pixels.astype(np.uint8)).save(
                    osp.join(root, split, name, f'{i}.png'))
    return root


def log_to(path: str) -> MMLogger:
    """Makes a fresh current MMEngine logger that writes to ``path``."""
    return MMLogger.get_instance(f'test-{osp.basename(path)}-{os.getpid()}', log_file=path)


def golden_classifier_cfg(config: dict, checkpoint=None) -> Config:
    """The ViT-B fine-tuning config at the golden file's architecture."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'finetune_base_100e_in1k.py'))
    cfg.model.backbone.arch = dict(
        embed_dims=config['embed_dim'], num_layers=config['depth'], num_heads=config['num_heads'])
    cfg.model.backbone.init_cfg = (
        dict(type='Pretrained', checkpoint=checkpoint) if checkpoint else None)
    cfg.model.head.update(num_classes=config['classifier']['num_classes'],
                          in_channels=config['embed_dim'])
    return cfg


@pytest.fixture(scope='module')
def golden():
    return torch.load(GOLDEN, map_location='cpu', weights_only=False)


def test_released_pretrain_loads_with_the_official_missing_keys(golden, tmp_path):
    """A released-format pretraining file fills everything but fc_norm and the head (the
    official fine-tuning run's missing keys); the pretraining-only parts are dropped by name."""
    released = golden['checkpoints']['addp_pretrain']
    path = str(tmp_path / 'addp-vit-tiny-16.pth')
    torch.save(released, path)
    log_file = str(tmp_path / 'load.log')
    log_to(log_file)

    torch.manual_seed(0)
    model = MODELS.build(golden_classifier_cfg(golden['config'], path).model)
    model.init_weights()
    fresh = MODELS.build(golden_classifier_cfg(golden['config']).model)
    missing = load_backbone_weights(fresh.backbone, path)
    missing += ['head.' + name for name, _ in fresh.head.fc.named_parameters()]
    assert sorted(missing) == sorted(golden['outputs']['cls_missing_keys'])

    weights = released['model']
    for name, value in model.backbone.state_dict().items():
        if name in weights:
            assert torch.equal(value, weights[name]), name
    # fc_norm starts as an identity norm, the head from trunc_normal(std=2e-5), not the file
    fc_norm = model.backbone.fc_norm
    assert torch.equal(fc_norm.weight, torch.ones_like(fc_norm.weight))
    assert 0 < model.head.fc.weight.std() < 1e-4

    log = open(log_file).read()
    assert "missing keys ['fc_norm.bias', 'fc_norm.weight'] and unexpected keys []" in log
    # every pretraining-only part of the file is named: decoder, tokenizer, token predictor...
    unused = [k for k in weights if k not in model.backbone.state_dict()]
    dropped = log[log.index(f'dropped {len(unused)} keys'):].splitlines()[0]
    parts = {k.split('.')[0] for k in unused}
    assert {'decoder_blocks', 'mask_token', 'mlm_layer', 'token_predictor', 'vqgan'} <= parts
    for part in parts:
        assert part in dropped, part


def test_released_classifier_reproduces_official_logits(golden, tmp_path):
    """The fine-tuning config, converted official weights and the data preprocessor's
    normalisation give the official logits."""
    cfg = golden_classifier_cfg(golden['config'])
    cfg.model.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(cfg.model).eval()
    official = golden['checkpoints']['classifier']['model']
    model.load_state_dict(convert_official_classifier(official))
    # RGB in [0, 1] before the official Normalize; the preprocessor takes BGR in 0-255
    bgr = golden['inputs']['images'].flip(1) * 255.
    data = model.data_preprocessor(dict(inputs=list(bgr), data_samples=None))
    logits = model(data['inputs'], mode='tensor')
    reference = golden['outputs']['cls_logits']
    assert torch.allclose(logits, reference, rtol=1e-4, atol=1e-4 * reference.abs().max())


def test_pretrain_at_another_size_interpolates_pos_embed(tiny_model, tmp_path):
    """One of this project's pretraining checkpoints (32 px, 8 x 8 grid) fine-tunes at 48 px:
    pos_embed is resized bicubically, class token position kept."""
    path = str(tmp_path / 'pretrain.pth')
    torch.save({'state_dict': tiny_model.state_dict()}, path)
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'finetune_tiny_custom_smoke.py'))
    cfg.model.backbone.update(img_size=48, init_cfg=dict(type='Pretrained', checkpoint=path))
    cfg.model.head.num_classes = 3
    model = MODELS.build(cfg.model)
    model.init_weights()

    source = tiny_model.backbone.pos_embed.detach()
    loaded = model.backbone.pos_embed.detach()
    assert loaded.shape == (1, 1 + 12 * 12, 32)
    assert torch.equal(loaded[:, 0], source[:, 0])
    grid = source[:, 1:].reshape(1, 8, 8, 32).permute(0, 3, 1, 2)
    resized = F.interpolate(grid, size=(12, 12), mode='bicubic', align_corners=False)
    assert torch.allclose(loaded[:, 1:], resized.flatten(2).transpose(1, 2), atol=1e-6)
    assert torch.equal(model.backbone.blocks[0].attn.qkv.weight,
                       tiny_model.backbone.blocks[0].attn.qkv.weight)


def custom_cfg(data_root: str) -> Config:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'finetune_base_100e_custom.py'))
    cfg.merge_from_dict({
        f'{split}_dataloader.dataset.data_root': data_root
        for split in ('train', 'val', 'test')
    })
    return cfg


def test_custom_folder_sets_num_classes_from_subfolders(tmp_path):
    root = make_image_folder(str(tmp_path / 'flowers'))
    cfg = custom_cfg(root)
    assert cfg.runner_type == 'ClassesFromDataRunner'

    assert set_num_classes_from_data(cfg) == CLASSES
    assert cfg.model.head.num_classes == 3
    assert cfg.data_preprocessor.num_classes == 3  # mixup/cutmix targets
    assert cfg.val_evaluator.topk == (1, )  # top-5 of 3 classes does not exist
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader'].dataset.metainfo.classes == CLASSES


def test_custom_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='train_dataloader.dataset.data_root=DIR'):
        set_num_classes_from_data(custom_cfg(str(tmp_path / 'absent')))

    root = make_image_folder(str(tmp_path / 'data'))
    os.rename(osp.join(root, 'val', 'owl'), osp.join(root, 'val', 'fox'))
    with pytest.raises(ValueError, match=r"missing \['owl'\], extra \['fox'\]"):
        set_num_classes_from_data(custom_cfg(root))


def test_custom_folder_from_val_when_train_is_absent(tmp_path):
    """Testing needs only the test data: the classes come from there."""
    root = make_image_folder(str(tmp_path / 'data'))
    cfg = custom_cfg(root)
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'elsewhere')
    assert set_num_classes_from_data(cfg) == CLASSES


def run_tool(script: str, argv) -> None:
    """Runs ``tools/<script>`` with ``argv`` in this process."""
    path = osp.join(REPO, 'tools', script)
    spec = importlib.util.spec_from_file_location(f'tools_{script[:-3]}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with mock.patch.object(sys, 'argv', [path, *argv]):
        module.main()


def reference_top1(cfg: Config, checkpoint: str, samples) -> float:
    """Top-1 over (image path, label) pairs, predicted image by image outside the runner."""
    model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor)).eval()
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)['state_dict']
    model.load_state_dict(state)
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    correct = 0
    for path, label in samples:
        data = pseudo_collate([pipeline(dict(img_path=path))])
        with torch.no_grad():
            correct += int(model.test_step(data)[0].pred_label.item() == label)
    return 100. * correct / len(samples)


def folder_samples(root: str):
    return [(osp.join(root, name, file), label) for label, name in enumerate(CLASSES)
            for file in sorted(os.listdir(osp.join(root, name)))]


def test_tiny_finetune_then_tools_test(tiny_model, tmp_path):
    """tools/train.py fine-tunes the tiny recipe for 6 iterations from a pretraining checkpoint
    on a generated folder; tools/test.py then evaluates it with mmpretrain's Accuracy, which
    agrees with a prediction made image by image."""
    data_root = make_image_folder(str(tmp_path / 'data'))
    pretrain = str(tmp_path / 'pretrain.pth')
    torch.save({'state_dict': tiny_model.state_dict()}, pretrain)
    work_dir = str(tmp_path / 'work')
    config = osp.join(CONFIG_DIR, 'finetune_tiny_custom_smoke.py')

    data_options = [f'{split}_dataloader.dataset.data_root={data_root}'
                    for split in ('train', 'val', 'test')]
    run_tool('train.py', [
        config, '--work-dir', work_dir, '--cfg-options',
        f'model.backbone.init_cfg.checkpoint={pretrain}', *data_options
    ])
    trained = torch.load(osp.join(work_dir, 'epoch_2.pth'), map_location='cpu',
                         weights_only=False)
    assert trained['meta']['iter'] == 6  # 12 images in batches of 4, 2 epochs
    assert trained['meta']['dataset_meta']['classes'] == CLASSES
    assert trained['state_dict']['head.fc.weight'].shape == (3, 32)
    assert not torch.equal(trained['state_dict']['backbone.blocks.0.attn.qkv.weight'],
                           tiny_model.state_dict()['backbone.blocks.0.attn.qkv.weight'])

    checkpoint = osp.join(work_dir, 'epoch_2.pth')
    out = str(tmp_path / 'eval' / 'metrics.json')
    run_tool('test.py', [
        config, checkpoint, '--work-dir', str(tmp_path / 'eval'), '--out', out, '--out-item',
        'metrics', '--cfg-options', *data_options
    ])
    metrics = json.load(open(out))
    assert set(metrics) == {'accuracy/top1'}

    resolved = Config.fromfile(config)
    resolved.merge_from_dict({'model.head.num_classes': 3, 'model.backbone.init_cfg': None})
    expected = reference_top1(resolved, checkpoint, folder_samples(osp.join(data_root, 'val')))
    assert metrics['accuracy/top1'] == pytest.approx(expected, abs=1e-3)


def test_tools_test_refuses_bad_input_before_running(tmp_path):
    config = osp.join(CONFIG_DIR, 'test_finetuned_base_in1k.py')
    with pytest.raises(InputNotFoundError,
                       match='addp-vit-base-16-in1k.pth.*convert_official_checkpoint'):
        run_tool('test.py', [config])

    existing = tmp_path / 'metrics.txt'
    existing.write_text('earlier results')
    with pytest.raises(InvalidInputError, match=r'\.pkl'):
        run_tool('test.py', [config, GOLDEN, '--out', str(existing)])
    assert existing.read_text() == 'earlier results'


def test_released_classifier_through_test_config(golden, tmp_path):
    """An official fine-tuned file, converted with tools/convert_official_checkpoint.py, is
    evaluated by tools/test.py with the released-classifier test config on an ImageNet-format
    val set (val/ images listed in meta/val.txt)."""
    official = str(tmp_path / 'official_ft.pth')
    torch.save(golden['checkpoints']['classifier'], official)
    converted = str(tmp_path / 'addp-vit-tiny-16-in1k.pth')
    run_tool('convert_official_checkpoint.py', [official, converted, '--kind', 'classifier'])

    root = tmp_path / 'imagenet'
    (root / 'val').mkdir(parents=True)
    (root / 'meta').mkdir()
    rng = np.random.default_rng(1)
    labels = [3, 7, 0, 3, 9, 1]
    for i in range(len(labels)):
        pixels = rng.integers(0, 256, (280, 300, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / 'val' / f'img_{i}.png')
    (root / 'meta' / 'val.txt').write_text(
        ''.join(f'img_{i}.png {label}\n' for i, label in enumerate(labels)))

    config = golden['config']
    # the released ViT-B test config at the golden file's size, as a user would derive it
    tiny_config = tmp_path / 'test_finetuned_tiny_in1k.py'
    tiny_config.write_text(
        f"_base_ = [{osp.join(CONFIG_DIR, 'test_finetuned_base_in1k.py')!r}]\n"
        f"model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims={config['embed_dim']}, "
        f"num_layers={config['depth']}, num_heads={config['num_heads']})), "
        f"head=dict(num_classes={config['classifier']['num_classes']}, "
        f"in_channels={config['embed_dim']}))\n"
        f"data_preprocessor = dict(num_classes={config['classifier']['num_classes']})\n"
        f"test_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, "
        f"dataset=dict(data_root={str(root)!r}))\n")
    out = str(tmp_path / 'eval' / 'metrics.json')
    run_tool('test.py', [str(tiny_config), converted, '--work-dir', str(tmp_path / 'eval'),
                         '--out', out, '--out-item', 'metrics'])
    metrics = json.load(open(out))
    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}

    cfg = Config.fromfile(str(tiny_config))
    samples = [(str(root / 'val' / f'img_{i}.png'), label) for i, label in enumerate(labels)]
    assert metrics['accuracy/top1'] == pytest.approx(
        reference_top1(cfg, converted, samples), abs=1e-3)
