"""ADDP UperNet on ADE20k: pyramid shapes at 512, layer-wise decay, and a short CPU training
run with slide inference and IoUMetric on a generated ADE20k-format dataset."""
import math
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS

import projects.addp_seg.addp_seg  # noqa: F401
from addp.models import ADDPViT

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(__file__)), 'configs')
CONFIG_B = osp.join(CONFIG_DIR, 'upernet_addp-vit-b_8xb2-amp-160k_ade20k-512x512.py')
CONFIG_L = osp.join(CONFIG_DIR, 'upernet_addp-vit-l_8xb2-amp-160k_ade20k-512x512.py')
TINY_ARCH = dict(embed_dims=32, num_layers=4, num_heads=2)
CPU_NORM = dict(type='BN', requires_grad=True)  # SyncBN needs a process group


@pytest.fixture(autouse=True)
def _mmseg_scope_on_one_thread():
    # Test-sized models run fastest on one thread, above all on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    init_default_scope('mmseg')
    yield
    torch.set_num_threads(threads)


def _tiny_model_cfg(cfg: Config) -> None:
    """Shrinks the real config's model in place: a 4-block, 32-wide ViT and BN heads."""
    model = cfg.model
    model.backbone.update(arch=TINY_ARCH, out_indices=(0, 1, 2, 3), init_cfg=None)
    model.neck.update(embed_dim=32, norm_cfg=CPU_NORM)
    model.decode_head.update(in_channels=[32] * 4, channels=32, norm_cfg=CPU_NORM)
    model.auxiliary_head.update(in_channels=32, channels=16, norm_cfg=CPU_NORM)


def test_real_configs_follow_the_mae_upernet_recipe():
    for path, arch, out_indices, width in ((CONFIG_B, 'b', (3, 5, 7, 11), 768),
                                           (CONFIG_L, 'l', (7, 11, 15, 23), 1024)):
        cfg = Config.fromfile(path)
        model = cfg.model
        assert (model.backbone.arch, tuple(model.backbone.out_indices)) == (arch, out_indices)
        assert model.backbone.out_type == 'featmap'
        assert tuple(model.backbone.img_size) == (512, 512)
        assert (model.neck.type, model.neck.rescales) == ('Feature2Pyramid', [4, 2, 1, 0.5])
        assert model.decode_head.type == 'UPerHead' and model.decode_head.in_channels == [width] * 4
        assert model.auxiliary_head.type == 'FCNHead' and model.auxiliary_head.in_index == 2
        assert model.auxiliary_head.loss_decode.loss_weight == 0.4
        assert dict(model.test_cfg) == dict(mode='slide', crop_size=(512, 512), stride=(341, 341))
        assert cfg.train_cfg.max_iters == 160000
        assert [s.type for s in cfg.param_scheduler] == ['LinearLR', 'PolyLR']
        assert cfg.param_scheduler[1].power == 1.0 and cfg.param_scheduler[0].end == 1500
        assert cfg.optim_wrapper.optimizer.type == 'AdamW'
        assert cfg.train_dataloader.dataset.pipeline[3].crop_size == (512, 512)


def test_backbone_and_pyramid_shapes_at_512():
    cfg = Config.fromfile(CONFIG_B)
    _tiny_model_cfg(cfg)
    backbone = MODELS.build(cfg.model.backbone).eval()
    neck = MODELS.build(cfg.model.neck).eval()
    with torch.no_grad():
        feats = backbone(torch.randn(2, 3, 512, 512))
        pyramid = neck(feats)
    assert [tuple(f.shape) for f in feats] == [(2, 32, 32, 32)] * 4
    assert [tuple(p.shape) for p in pyramid] == [(2, 32, s, s) for s in (128, 64, 32, 16)]


@pytest.mark.parametrize('path', [CONFIG_B, CONFIG_L], ids=['vit-b', 'vit-l'])
def test_layer_decay_groups_cover_every_backbone_parameter_once(path):
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    cfg.optim_wrapper.type = 'OptimWrapper'
    groups = build_optim_wrapper(model, cfg.optim_wrapper).optimizer.param_groups
    num_layers = len(model.backbone.blocks)
    decay, base_lr = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate, 1e-4

    grouped = [id(p) for g in groups for p in g['params']]
    assert len(grouped) == len(set(grouped)), 'a parameter is in two groups'
    assert set(grouped) == {id(p) for p in model.parameters() if p.requires_grad}
    backbone_names = {n for n, _ in model.named_parameters() if n.startswith('backbone.')}
    assert {g['param_name'] for g in groups if g['param_name'].startswith('backbone.')} == \
        backbone_names

    for g in groups:
        name = g['param_name']
        if name.startswith('backbone.blocks.'):
            depth = int(name.split('.')[2]) + 1
        elif name.startswith(('backbone.patch_embed', 'backbone.pos_embed',
                              'backbone.cls_token')):
            depth = 0
        else:
            depth = num_layers + 1
        assert g['layer_id'] == depth, name
        assert g['lr'] == pytest.approx(base_lr * decay**(num_layers + 1 - depth)), name
        # MAE recipe: no decay on embeddings, biases and norms; 0.05 on the rest.
        no_decay = g['params'][0].ndim == 1 or name.endswith(('pos_embed', 'cls_token'))
        assert g['weight_decay'] == (0. if no_decay else 0.05), name


def _write_tiny_ade(root: str) -> None:
    """ADE20k layout: images/{training,validation}/*.jpg and annotations/.../*.png whose
    values are 0 (ignored) and classes 1..3 in stripes and a square."""
    rng = np.random.RandomState(0)
    for split, num, shape in (('training', 4, (64, 64)), ('validation', 2, (48, 80))):
        for i in range(num):
            h, w = shape
            label = np.zeros(shape, np.uint8)
            label[:h // 2] = 1
            label[h // 2:] = 2
            top, left = rng.randint(0, h // 2), rng.randint(0, w // 2)
            label[top:top + h // 3, left:left + w // 3] = 3
            label[:2] = 0
            palette = np.array([[0, 0, 0], [180, 40, 40], [40, 180, 40], [40, 40, 180]],
                               np.uint8)
            img = palette[label] + rng.randint(0, 30, (h, w, 3)).astype(np.uint8)
            name = f'ADE_{split}_{i:08d}'
            assert cv2.imwrite(osp.join(root, 'images', split, name + '.jpg'), img)
            assert cv2.imwrite(osp.join(root, 'annotations', split, name + '.png'), label)


def test_tiny_config_trains_and_evaluates_with_iou_metric(tmp_path):
    data_root = tmp_path / 'ADEChallengeData2016'
    for kind in ('images', 'annotations'):
        for split in ('training', 'validation'):
            (data_root / kind / split).mkdir(parents=True)
    _write_tiny_ade(str(data_root))

    # A checkpoint laid out for 32 px (2 x 2 patches), as the 256 px ADDP models are for
    # 512 px crops: its position embedding is interpolated to the 4 x 4 grid when loading.
    torch.manual_seed(0)
    source = ADDPViT(arch=TINY_ARCH, img_size=32, patch_size=16)
    source.init_weights()
    checkpoint = str(tmp_path / 'addp_tiny.pth')
    torch.save({'model': source.state_dict()}, checkpoint)

    cfg = Config.fromfile(CONFIG_B)
    _tiny_model_cfg(cfg)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=checkpoint)
    crop = (64, 64)
    cfg.model.data_preprocessor.size = crop
    cfg.model.backbone.img_size = crop
    cfg.model.test_cfg.update(crop_size=crop, stride=(43, 43))
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.data_root = str(data_root)
        for transform in loader.dataset.pipeline:
            if transform.type in ('RandomResize', 'Resize'):
                transform.scale = (256, 64)
            elif transform.type == 'RandomCrop':
                transform.crop_size = crop
    cfg.optim_wrapper.type = 'OptimWrapper'  # mixed precision needs a GPU
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    cfg.randomness = dict(seed=0)

    runner = Runner.from_cfg(cfg)
    runner.train()
    backbone = runner.model.backbone
    assert backbone.pos_embed.shape == (1, 1 + 16, 32)
    moved = (backbone.blocks[0].attn.qkv.weight - source.blocks[0].attn.qkv.weight).abs()
    assert 0 < moved.max() < 1e-2  # loaded, then optimised
    hub = runner.message_hub
    for key in ('train/decode.loss_ce', 'train/aux.loss_ce'):
        assert math.isfinite(hub.log_scalars[key].current()), key
    # The loop validated after the last iteration with IoUMetric.
    for key in ('val/mIoU', 'val/aAcc'):
        assert 0. <= hub.get_scalar(key).current() <= 100., key

    # Force every prediction to class 1 (ADE label 2) and check the metric's values against
    # the label maps: IoU is |gt == 1| / |labelled| for class 1 and 0 for classes 0 and 2.
    with torch.no_grad():
        runner.model.decode_head.conv_seg.bias[1] += 1e4
    metrics = runner.val_loop.run()
    labels = [cv2.imread(p, cv2.IMREAD_UNCHANGED) for p in sorted(
        (data_root / 'annotations' / 'validation').glob('*.png'))]
    labelled = sum(int((lab > 0).sum()) for lab in labels)
    class_1 = sum(int((lab == 2).sum()) for lab in labels) / labelled
    assert metrics['aAcc'] == pytest.approx(100 * class_1, abs=0.01)
    assert metrics['mIoU'] == pytest.approx(100 * class_1 / 3, abs=0.01)

    # Slide inference on a 48 x 80 image: 64 x 64 windows, logits for the 150 ADE classes.
    batch = runner.val_dataloader.collate_fn([runner.val_dataloader.dataset[0]])
    with torch.no_grad():
        result, = runner.model.test_step(batch)
    assert result.seg_logits.data.shape == (150, 48, 80)
    assert (result.pred_sem_seg.data == 1).all()
