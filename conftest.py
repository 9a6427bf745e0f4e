"""Test selection by environment stage (tools/setup_env.sh), and the fixtures that the tests of
addp and of projects/ share.

Every test of the detection and segmentation projects needs the ops stage (mmcv's compiled
ops, mmdet, mmseg) and carries the ``needs_ops`` marker. Under ``-m 'not needs_ops'`` those
modules are not even imported, so the core tests run in a core-stage environment. The web
demo (projects/gradio_demo) needs only the core stage.
"""
import os.path as osp

import pytest

ROOT = osp.dirname(osp.abspath(__file__))
OPS_STAGE_DIRS = tuple(osp.join(ROOT, 'projects', name) for name in ('addp_det', 'addp_seg'))


def _needs_ops_stage(path) -> bool:
    return str(path).startswith(OPS_STAGE_DIRS)


def pytest_ignore_collect(collection_path, config):
    if _needs_ops_stage(collection_path) and config.option.markexpr == 'not needs_ops':
        return True
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _needs_ops_stage(item.path):
            item.add_marker(pytest.mark.needs_ops)


@pytest.fixture(scope='session')
def digits_root(tmp_path_factory):
    """scikit-learn's digits as the demo lays them out (tools/prepare_bundled_data.py)."""
    from addp.datasets import prepare_digits
    root = str(tmp_path_factory.mktemp('digits'))
    prepare_digits(root)
    return root
