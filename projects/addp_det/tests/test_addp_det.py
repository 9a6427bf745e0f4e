"""ADDP ViTDet Mask R-CNN: backbone numerics and shapes, checkpoint loading, layer-wise decay
and a short CPU training run with COCO evaluation on a generated dataset."""
import json
import math
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.models.utils import resize_pos_embed

import projects.addp_det.addp_det  # noqa: F401
from addp.checkpoint import load_backbone_weights
from addp.models import ADDPViT
from projects.addp_det.addp_det import ADDPViTDet, window_partition, window_unpartition

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(__file__)), 'configs')
CONFIG_B = osp.join(CONFIG_DIR, 'mask-rcnn_addp-vit-b_simplefpn_16xb4-lsj-100e_coco.py')
CONFIG_L = osp.join(CONFIG_DIR, 'mask-rcnn_addp-vit-l_simplefpn_16xb4-lsj-100e_coco.py')
TINY_ARCH = dict(embed_dims=32, num_layers=4, num_heads=2)
CLASSES = ('square', 'bar')


@pytest.fixture(autouse=True)
def _mmdet_scope_on_one_thread():
    # Test-sized models run fastest on one thread, above all on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    init_default_scope('mmdet')
    yield
    torch.set_num_threads(threads)


def _reference_vitdet_block(block, rel_pos, x, window_size):
    """ViTDet's block written out token by token: pad after norm1, attend within windows
    with ``softmax(q k / sqrt(d) + q . R_h[i - k] + q . R_w[j - l])``, unpad, residual, MLP."""
    B, H, W, C = x.shape
    heads = block.attn.num_heads
    d = C // heads
    y = block.norm1(x)
    side = window_size or max(H, W)
    Hp, Wp = math.ceil(H / side) * side, math.ceil(W / side) * side
    y = F.pad(y, (0, 0, 0, Wp - W, 0, Hp - H))
    wh, ww = min(side, Hp), min(side, Wp)
    out = torch.zeros_like(y)
    rel_h, rel_w = rel_pos
    for b in range(B):
        for top in range(0, Hp, wh):
            for left in range(0, Wp, ww):
                tokens = y[b, top:top + wh, left:left + ww].reshape(-1, C)
                q, k, v = block.attn.qkv(tokens).reshape(-1, 3, heads, d).unbind(1)
                heads_out = []
                for n in range(heads):
                    logits = (q[:, n] / math.sqrt(d)) @ k[:, n].t()
                    for p in range(wh * ww):
                        for r in range(wh * ww):
                            (i, j), (kk, ll) = divmod(p, ww), divmod(r, ww)
                            logits[p, r] += q[p, n] @ rel_h[i - kk + wh - 1]
                            logits[p, r] += q[p, n] @ rel_w[j - ll + ww - 1]
                    heads_out.append(logits.softmax(-1) @ v[:, n])
                attended = block.attn.proj(torch.cat(heads_out, dim=-1))
                out[b, top:top + wh, left:left + ww] = attended.reshape(wh, ww, C)
    x = x + out[:, :H, :W]
    return x + block.mlp(block.norm2(x))


def test_window_partition_round_trip_with_padding():
    x = torch.randn(2, 7, 5, 3)
    windows, padded_hw = window_partition(x, 3)
    assert windows.shape == (2 * 3 * 2, 3, 3, 3) and padded_hw == (9, 6)
    # The first window is the top-left 3 x 3 corner; the last holds padding zeros.
    torch.testing.assert_close(windows[0], x[0, :3, :3])
    assert windows[5, 2].abs().sum() == 0 and windows[5, :, 2].abs().sum() == 0
    torch.testing.assert_close(window_unpartition(windows, 3, padded_hw, (7, 5)), x)


def test_backbone_matches_reference_vitdet_blocks():
    torch.manual_seed(0)
    # An 8 x 8 grid: block 0 in padded 3 x 3 windows, block 1 global.
    backbone = ADDPViTDet(arch=dict(embed_dims=16, num_layers=2, num_heads=2), img_size=128,
                          window_size=3, global_attn_indexes=(1, ), use_rel_pos=True).eval()
    assert backbone.blocks[0].attn.rel_pos_h.shape == (5, 8)
    assert backbone.blocks[1].attn.rel_pos_h.shape == (15, 8)
    for block in backbone.blocks:
        # Zero-initialised tables would hide indexing errors.
        torch.nn.init.normal_(block.attn.rel_pos_h, std=0.5)
        torch.nn.init.normal_(block.attn.rel_pos_w, std=0.5)
    img = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        out, = backbone(img)
        tokens, _ = backbone.embed(img)
        x = tokens[:, 1:].reshape(1, 8, 8, 16)
        for block, window in zip(backbone.blocks, (3, 0)):
            x = _reference_vitdet_block(
                block, (block.attn.rel_pos_h, block.attn.rel_pos_w), x, window)
    assert out.shape == (1, 16, 8, 8)
    torch.testing.assert_close(out, x.permute(0, 3, 1, 2), rtol=1e-4, atol=1e-5)


def test_windowed_blocks_stay_within_their_window():
    torch.manual_seed(0)
    backbone = ADDPViTDet(arch=dict(embed_dims=16, num_layers=1, num_heads=2), img_size=64,
                          window_size=2, global_attn_indexes=()).eval()
    img = torch.randn(1, 3, 64, 64)
    changed = img.clone()
    changed[..., :16, :16] += 1.  # patch (0, 0) only
    with torch.no_grad():
        diff = (backbone(changed)[0] - backbone(img)[0]).abs().sum(1)[0]
    assert diff[:2, :2].min() > 0  # its 2 x 2 window sees it
    assert diff[2:].max() == 0 and diff[:, 2:].max() == 0  # other windows do not


def test_official_checkpoint_loads_by_name_and_interpolates(tmp_path):
    torch.manual_seed(0)
    source = ADDPViT(arch=TINY_ARCH, img_size=64, patch_size=16)
    source.init_weights()
    path = str(tmp_path / 'addp_tiny.pth')
    torch.save({'model': source.state_dict()}, path)  # official layout: flat names

    backbone = ADDPViTDet(arch=TINY_ARCH, img_size=128, window_size=4,
                          global_attn_indexes=(1, 3))
    missing = load_backbone_weights(backbone, path)
    assert sorted(missing) == sorted(f'blocks.{i}.attn.rel_pos_{a}' for i in range(4)
                                     for a in 'hw')
    own = backbone.state_dict()
    for name, value in source.state_dict().items():
        if name.startswith(('blocks.', 'patch_embed.')) or name == 'cls_token':
            torch.testing.assert_close(own[name], value, msg=name)
    expected_pos = resize_pos_embed(source.pos_embed, (4, 4), (8, 8), 'bicubic', 1)
    torch.testing.assert_close(own['pos_embed'], expected_pos)
    assert not backbone.cls_token.requires_grad
    assert all(backbone.blocks[i].attn.rel_pos_w.abs().sum() == 0 for i in range(4))


def test_real_configs_backbone_settings():
    for path, arch, globals_, decay, drop_path, width in (
            (CONFIG_B, 'b', (2, 5, 8, 11), 0.7, 0.1, 768),
            (CONFIG_L, 'l', (5, 11, 17, 23), 0.8, 0.4, 1024)):
        cfg = Config.fromfile(path)
        backbone = cfg.model.backbone
        assert (backbone.arch, tuple(backbone.global_attn_indexes)) == (arch, globals_)
        assert (backbone.img_size, backbone.window_size, backbone.use_rel_pos) == (1024, 14, True)
        assert backbone.drop_path_rate == drop_path
        assert cfg.model.neck.in_channels == [width // 4, width // 2, width, width]
        assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == decay
        assert cfg.train_cfg.max_iters == 184375
        assert [s.get('milestones') for s in cfg.param_scheduler] == [None, [163889, 177546]]


@pytest.mark.parametrize('num_layers,expected', [(12, [2, 5, 8, 11]), (24, [5, 11, 17, 23])])
def test_default_global_blocks_are_evenly_spaced(num_layers, expected):
    backbone = ADDPViTDet(arch=dict(embed_dims=8, num_layers=num_layers, num_heads=1),
                          img_size=64)
    assert backbone.global_attn_indexes == expected


def _tiny_cfg(cfg: Config, data_root: str = '', work_dir: str = '',
              checkpoint: str = None) -> Config:
    """Shrinks a real config in place: tiny ViT, 128 px LSJ, 2 classes, CPU optimiser."""
    size = (128, 128)
    model = cfg.model
    model.data_preprocessor.pad_size_divisor = size[0]
    model.data_preprocessor.batch_augments[0].size = size
    model.backbone.update(arch=TINY_ARCH, img_size=size[0], window_size=3,
                          global_attn_indexes=(1, 3), drop_path_rate=0.1,
                          init_cfg=dict(type='Pretrained', checkpoint=checkpoint)
                          if checkpoint else None)
    model.neck.update(backbone_channel=32, in_channels=[8, 16, 32, 32], out_channels=32)
    model.rpn_head.update(in_channels=32, feat_channels=32)
    model.roi_head.bbox_roi_extractor.out_channels = 32
    model.roi_head.bbox_head.update(in_channels=32, conv_out_channels=32, fc_out_channels=64,
                                    num_classes=len(CLASSES))
    model.roi_head.mask_roi_extractor.out_channels = 32
    model.roi_head.mask_head.update(in_channels=32, conv_out_channels=32,
                                    num_classes=len(CLASSES))
    # Fewer sampled RoIs and kept detections: test-sized work for 128 px images.
    model.train_cfg.rpn.sampler.num = 64
    model.train_cfg.rcnn.sampler.num = 64
    model.test_cfg.rpn.update(nms_pre=200, max_per_img=50)
    model.test_cfg.rcnn.max_per_img = 20
    for split in ('train', 'val'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=data_root, ann_file=f'{split}.json',
                              data_prefix=dict(img=f'{split}/'), metainfo=dict(classes=CLASSES))
        for transform in loader.dataset.pipeline:
            for key in ('scale', 'crop_size', 'size'):
                if key in transform:
                    transform[key] = size
    cfg.train_dataloader.dataset.filter_cfg.min_size = 8
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator.ann_file = osp.join(data_root, 'val.json')
    cfg.test_evaluator = cfg.val_evaluator
    cfg.optim_wrapper.type = 'OptimWrapper'  # mixed precision needs a GPU
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor.window_size = 1
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    cfg.pop('vis_backends', None)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    return cfg


def _write_tiny_coco(root: str) -> None:
    """Four train and two val images (96 x 128) with one or two coloured rectangles each,
    and COCO json with boxes and polygon masks."""
    rng = np.random.RandomState(0)
    for split, num in (('train', 4), ('val', 2)):
        images, annotations = [], []
        for image_id in range(1, num + 1):
            img = np.full((96, 128, 3), 40, np.uint8)
            for n in range(1 + image_id % 2):
                x, y = int(rng.randint(4, 60)), int(rng.randint(4, 40))
                w, h = int(rng.randint(24, 60)), int(rng.randint(20, 50))
                label = (image_id + n) % 2
                img[y:y + h, x:x + w] = (200, 60, 60) if label == 0 else (60, 200, 60)
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=image_id, category_id=label + 1,
                    bbox=[x, y, w, h], area=w * h, iscrowd=0,
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
            name = f'{image_id:06d}.jpg'
            assert cv2.imwrite(osp.join(root, split, name), img)
            images.append(dict(id=image_id, file_name=name, height=96, width=128))
        categories = [dict(id=i + 1, name=c) for i, c in enumerate(CLASSES)]
        with open(osp.join(root, f'{split}.json'), 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)


def test_tiny_config_trains_and_evaluates_with_coco_metric(tmp_path):
    data_root = tmp_path / 'coco'
    for split in ('train', 'val'):
        (data_root / split).mkdir(parents=True)
    _write_tiny_coco(str(data_root))
    torch.manual_seed(0)
    source = ADDPViT(arch=TINY_ARCH, img_size=64, patch_size=16)
    source.init_weights()
    checkpoint = str(tmp_path / 'addp_tiny.pth')
    torch.save({'model': source.state_dict()}, checkpoint)

    cfg = _tiny_cfg(Config.fromfile(CONFIG_B), str(data_root) + '/', str(tmp_path / 'work'),
                    checkpoint)
    runner = Runner.from_cfg(cfg)
    runner.train()
    backbone = runner.model.backbone
    # It started from the checkpoint and then took optimiser steps.
    moved = (backbone.blocks[0].attn.qkv.weight - source.blocks[0].attn.qkv.weight).abs()
    assert 0 < moved.max() < 1e-2
    assert torch.equal(backbone.cls_token, source.cls_token)  # frozen: the trunk never uses it
    losses = runner.message_hub.log_scalars
    for key in ('train/loss_rpn_cls', 'train/loss_cls', 'train/loss_bbox', 'train/loss_mask'):
        assert math.isfinite(losses[key].current()), key

    # The loop validated after the last iteration with CocoMetric on boxes and masks.
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP', 'coco/segm_mAP_50'):
        value = runner.message_hub.get_scalar(f'val/{key}').current()
        assert 0. <= value <= 1., (key, value)
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_2.pth'))


def test_backbone_and_pyramid_shapes_at_1024():
    cfg = Config.fromfile(CONFIG_B)
    backbone = MODELS.build(dict(cfg.model.backbone, arch=TINY_ARCH, global_attn_indexes=(3, ),
                                 init_cfg=None)).eval()
    neck = MODELS.build(dict(cfg.model.neck, backbone_channel=32, in_channels=[8, 16, 32, 32],
                             out_channels=16)).eval()
    with torch.no_grad():
        feats = backbone(torch.randn(1, 3, 1024, 1024))
        pyramid = neck(feats)
    assert [tuple(f.shape) for f in feats] == [(1, 32, 64, 64)]
    assert [tuple(p.shape) for p in pyramid] == [(1, 16, s, s) for s in (256, 128, 64, 32, 16)]


@pytest.mark.parametrize('path', [CONFIG_B, CONFIG_L], ids=['vit-b', 'vit-l'])
def test_layer_decay_groups_cover_every_backbone_parameter_once(path):
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    cfg.optim_wrapper.type = 'OptimWrapper'
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    groups = optimizer.param_groups
    num_layers = len(model.backbone.blocks)
    decay, base_lr = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate, 1e-4

    grouped = [id(p) for g in groups for p in g['params']]
    assert len(grouped) == len(set(grouped)), 'a parameter is in two groups'
    trainable = {id(p): n for n, p in model.named_parameters() if p.requires_grad}
    assert set(grouped) == set(trainable)
    backbone_trainable = {n for n, p in model.named_parameters()
                          if n.startswith('backbone.') and p.requires_grad}
    assert {g['param_name'] for g in groups if g['param_name'].startswith('backbone.')} == \
        backbone_trainable
    assert 'backbone.cls_token' not in backbone_trainable

    for g in groups:
        name = g['param_name']
        if name.startswith('backbone.blocks.'):
            depth = int(name.split('.')[2]) + 1
        elif name.startswith(('backbone.patch_embed', 'backbone.pos_embed')):
            depth = 0
        else:
            assert not name.startswith('backbone.'), name
            depth = num_layers + 1
        assert g['layer_id'] == depth, name
        assert g['lr'] == pytest.approx(base_lr * decay**(num_layers + 1 - depth)), name
    by_name = {g['param_name']: g for g in groups}
    assert by_name['backbone.pos_embed']['weight_decay'] == 0
    assert by_name['backbone.blocks.0.norm1.weight']['weight_decay'] == 0
    assert by_name['neck.lateral_convs.0.ln.weight']['weight_decay'] == 0
    assert by_name['backbone.blocks.0.attn.rel_pos_h']['weight_decay'] == 0.1
    assert by_name['backbone.blocks.0.attn.rel_pos_h']['layer_id'] == 1
    assert by_name['roi_head.bbox_head.fc_cls.weight']['lr'] == pytest.approx(base_lr)
