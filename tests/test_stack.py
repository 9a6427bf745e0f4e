"""The OpenMMLab stack is the pinned one: every library's models import, and in the ops stage
(tools/setup_env.sh --with-ops) mmcv's compiled ops run."""
import importlib

import pytest
import torch


@pytest.mark.needs_ops
def test_mmcv_nms_on_cpu():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.7]))


@pytest.mark.needs_ops
def test_mmcv_roi_align_on_cpu():
    from mmcv.ops import RoIAlign
    feat = torch.arange(16.).view(1, 1, 4, 4)
    rois = torch.tensor([[0., 0., 0., 4., 4.]])
    roi_align = RoIAlign(output_size=(2, 2), spatial_scale=1.0, sampling_ratio=1, aligned=True)
    out = roi_align(feat, rois)
    # One bilinear sample at the centre of each 2x2 bin is the mean of the bin's four pixels.
    assert torch.allclose(out, torch.nn.functional.avg_pool2d(feat, 2))


@pytest.mark.parametrize('module', [
    'mmpretrain.models', 'timm', 'einops', 'torch_fidelity', 'torchvision.ops',
    pytest.param('mmdet.models', marks=pytest.mark.needs_ops),
    pytest.param('mmseg.models', marks=pytest.mark.needs_ops)])
def test_library_imports(module):
    importlib.import_module(module)


def test_pinned_core_versions():
    import mmcv
    import mmengine
    import mmpretrain
    assert torch.__version__.split('+')[0] == '2.13.0'
    assert (mmcv.__version__, mmengine.__version__, mmpretrain.__version__) == (
        '2.1.0', '0.10.7', '1.2.0')


@pytest.mark.needs_ops
def test_pinned_ops_stage_versions():
    import mmdet
    import mmseg
    assert (mmdet.__version__, mmseg.__version__) == ('3.3.0', '1.2.2')
