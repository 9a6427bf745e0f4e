"""tools/benchmark.py runs at tiny size and prints its fields; this is not a timing test."""
import os.path as osp
import re

import pytest
from tool_modules import REPO, load_tool

CONFIG = osp.join(REPO, 'configs', 'addp', 'smoke_tiny.py')


def _load_tool():
    return load_tool('benchmark')


RESULT_LINE = re.compile(r'^[\d.]+ images/s  [\d.]+ s/step  peak [\d.]+ GiB  [\d.]+ GFLOP/step  '
                         r'[\d.]+ GFLOP/s$')


@pytest.mark.parametrize('mode,extra', [('pretrain', ['--mask-ratio', '0.509', '--with-cp']),
                                        ('generate', ['--amp-dtype', 'bfloat16'])])
def test_benchmark_prints_its_fields_and_a_profile(mode, extra, tmp_path, capsys):
    profile = tmp_path / 'profile.txt'
    result = _load_tool().main([mode, '--config', CONFIG, '--warmup', '0', '--iters', '1',
                                '--device', 'cpu', '--profile', str(profile), *extra])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f'{mode} {CONFIG} batch=2 size=32 device=cpu')
    assert RESULT_LINE.match(lines[1]), lines[1]
    assert lines[2] == f'profile: {profile}'
    assert result['gflop'] > 0 and result['images_per_second'] > 0 and result['peak_gib'] > 0
    assert result['gflops_per_second'] == pytest.approx(result['gflop'] / result['seconds'])
    table = profile.read_text()
    assert 'Self CPU' in table and 'aten::' in table


def test_flop_count_grows_with_the_batch(capsys):
    tool = _load_tool()
    args = ['pretrain', '--config', CONFIG, '--warmup', '0', '--iters', '1',
            '--mask-ratio', '0.509']
    one = tool.main([*args, '--batch-size', '1'])['gflop']
    four = tool.main([*args, '--batch-size', '4'])['gflop']
    assert four == pytest.approx(4 * one, rel=1e-6)


def test_bad_options_are_refused():
    with pytest.raises(SystemExit):
        _load_tool().main(['generate', '--config', CONFIG, '--gen-step', '20'])


def test_guidance_doubles_the_sampling_work(capsys):
    tool = _load_tool()
    args = ['generate', '--config', CONFIG, '--warmup', '0', '--iters', '1', '--gen-step', '5']
    plain = tool.main(args)['gflop']
    guided = tool.main([*args, '--cfg-scale', '3'])
    assert 'cfg_scale=3' in capsys.readouterr().out
    # Both passes in one batch: the encoder and decoder work twice, the tokenizer (most of
    # this tiny model's FLOPs) decodes once.
    assert 1.03 * plain < guided['gflop'] < 2 * plain
    conditional = tool.main([*args, '--cfg-scale', '1'])['gflop']
    assert conditional == pytest.approx(plain, rel=0.02)
