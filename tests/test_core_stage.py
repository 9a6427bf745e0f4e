"""The core stage of the environment (tools/setup_env.sh without --with-ops) runs ADDP: no
compiled mmcv ops, no mmdet, no mmseg. The detection and segmentation projects then stop with
one line naming the command that builds the ops stage.

A ``sitecustomize`` on the subprocesses' PYTHONPATH hides the ops stage, so these tests hold
whichever stage this environment has.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest

from addp.ops_stage import BUILD_COMMAND

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
HIDE_OPS_STAGE = osp.join(REPO, 'tests', 'data', 'core_stage')


def run_in_core_stage(cwd, *args, timeout=180):
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([HIDE_OPS_STAGE, REPO]))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_core_stage_imports_addp_without_mmcv_ops(tmp_path):
    result = run_in_core_stage(str(tmp_path), '-c', '''
import addp.models, mmpretrain.models
from addp.ops_stage import missing_ops_stage_parts
print(missing_ops_stage_parts())
try:
    import mmcv.ops
except ImportError:
    print('no mmcv.ops')
''')
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["['mmcv._ext', 'mmdet', 'mmseg']", 'no mmcv.ops']


def test_core_stage_trains_the_smoke_run_and_samples(tmp_path):
    trained = run_in_core_stage(
        str(tmp_path), osp.join(REPO, 'tools', 'train.py'),
        osp.join(REPO, 'configs', 'addp', 'smoke_tiny.py'), '--work-dir', 'wd',
        '--cfg-options', 'train_cfg.max_epochs=1', 'default_hooks.checkpoint.interval=1')
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert (tmp_path / 'wd' / 'epoch_1.pth').is_file()
    sampled = run_in_core_stage(
        str(tmp_path), osp.join(REPO, 'tools', 'generate.py'),
        osp.join(REPO, 'configs', 'addp', 'smoke_tiny.py'), 'wd/epoch_1.pth', '--num-images', '2',
        '--batch-size', '2', '--num-steps', '2', '--device', 'cpu', '--out', 'samples')
    assert sampled.returncode == 0, sampled.stderr[-2000:]
    assert len(list((tmp_path / 'samples' / 'images').glob('*.png'))) == 2


@pytest.mark.parametrize('config', [
    'projects/addp_det/configs/mask-rcnn_addp-vit-b_simplefpn_16xb4-lsj-100e_coco.py',
    'projects/addp_seg/configs/upernet_addp-vit-b_8xb2-amp-160k_ade20k-512x512.py'])
def test_projects_without_ops_stage_name_the_build_command(tmp_path, config):
    result = run_in_core_stage(str(tmp_path), osp.join(REPO, 'tools', 'train.py'),
                               osp.join(REPO, config), '--work-dir', 'wd')
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    project = config.split('/configs/')[0]
    assert lines[0].startswith(f'train.py: error: {project} needs the ops stage')
    assert f'`{BUILD_COMMAND}`' in lines[0]


@pytest.mark.parametrize('package', ['projects.addp_det.addp_det', 'projects.addp_seg.addp_seg'])
def test_importing_a_project_without_ops_stage_names_the_build_command(tmp_path, package):
    result = run_in_core_stage(str(tmp_path), '-c', f'''
from addp.ops_stage import MissingOpsStageError
try:
    import {package}
except MissingOpsStageError as err:
    print(err)
''')
    assert result.returncode == 0, result.stderr
    project = '/'.join(package.split('.')[:2])
    assert result.stdout.startswith(f'{project} needs the ops stage'), result.stdout
    assert f'`{BUILD_COMMAND}`' in result.stdout


@pytest.mark.skipif(not any(name.startswith('.addp-core-') for name in os.listdir(sys.prefix)),
                    reason='needs the environment that tools/setup_env.sh made')
def test_a_sourced_setup_leaves_the_callers_shell_options_alone(tmp_path):
    script = f'''
set +e +u +o pipefail
before=$(set +o)
source {REPO}/tools/setup_env.sh --core > /dev/null
echo "rc=$?"
[ "$before" = "$(set +o)" ] && echo 'options kept'
echo "python=$(command -v python)"
source {REPO}/tools/setup_env.sh --no-such-option 2> /dev/null
echo "still open, rc=$?"
'''
    result = subprocess.run(['bash', '-c', script], cwd=str(tmp_path), capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, ADDP_VENV=sys.prefix))
    assert result.stdout.splitlines() == [
        'rc=0', 'options kept', f'python={sys.prefix}/bin/python', 'still open, rc=2'], (
        result.stdout + result.stderr)
