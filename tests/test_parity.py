"""The official parity tool passes on the recorded file and fails on a perturbed one."""
import os.path as osp
import subprocess
import sys

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(ROOT, 'tools', 'verify_official_parity.py')
GOLDEN = osp.join(ROOT, 'tests', 'data', 'addp_official_tiny.pt')


def _run(*files):
    return subprocess.run([sys.executable, TOOL, *files], capture_output=True, text=True, cwd=ROOT)


def test_every_row_matches_the_official_code():
    result = _run(GOLDEN)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith('  ')]
    names = {row[0] for row in rows if row[-1] in ('ok', 'FAIL')}
    assert {'vq_indices', 'x_t', 'encoder_out', 'decoder_logits', 'loss',
            'grad_blocks0_qkv_weight', 'grad_patch_embed_weight', 'gen_next_mask',
            'gen_next_pixels', 'cls_logits', 'cls_missing_keys'} <= names
    assert all(row[-1] == 'ok' for row in rows if row[-1] in ('ok', 'FAIL'))
    assert '17 of 17 rows' in result.stdout


def test_a_wrong_reference_fails(tmp_path):
    golden = torch.load(GOLDEN, weights_only=False)
    golden['outputs']['decoder_logits'] = golden['outputs']['decoder_logits'] * 1.001
    golden['outputs']['gen_sampled'][0, 0] += 1
    torch.save(golden, tmp_path / 'perturbed.pt')
    result = _run(str(tmp_path / 'perturbed.pt'))
    assert result.returncode == 1
    failed = {line.split()[0] for line in result.stdout.splitlines() if line.endswith('FAIL')}
    # The loss row reads the recorded logits, so it fails with them.
    assert failed == {'decoder_logits', 'loss', 'gen_sampled'}
