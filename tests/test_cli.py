"""Every tool ends bad input with one line and exit code 2, and keeps tracebacks for bugs."""
import ast
import glob
import os.path as osp
import subprocess
import sys

import pytest
import torch

from addp.checkpoint import read_checkpoint
from addp.cli import run_tool
from addp.errors import CheckpointKeyError, InvalidInputError, UnreadableInputError

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = sorted(glob.glob(osp.join(REPO, 'tools', '*.py')))


def _main_guard_calls(path: str) -> list:
    tree = ast.parse(open(path).read())
    for node in tree.body:
        if isinstance(node, ast.If) and '__main__' in ast.unparse(node.test):
            return [ast.unparse(stmt) for stmt in node.body]
    return []


@pytest.mark.parametrize('tool', TOOLS, ids=osp.basename)
def test_every_tool_runs_under_the_handler(tool):
    assert _main_guard_calls(tool) == ['run_tool(main)']


@pytest.mark.parametrize('error', [InvalidInputError('--size must be positive'),
                                   CheckpointKeyError('missing keys (1): neck.embed.weight'),
                                   FileNotFoundError('config file x.py not found')])
def test_known_errors_print_one_line_and_exit_2(error, capsys, monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['tools/some_tool.py'])

    def main():
        raise error

    with pytest.raises(SystemExit) as exit_info:
        run_tool(main)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f'some_tool.py: error: {error.args[0]}\n'


def test_unexpected_errors_keep_their_traceback(capsys):
    def main():
        return 1 // 0

    with pytest.raises(SystemExit) as exit_info:
        run_tool(main)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith('Traceback') and 'ZeroDivisionError' in err


def test_ctrl_c_exits_130_in_one_line(capsys, monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['tools/train.py'])

    def main():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as exit_info:
        run_tool(main)
    assert exit_info.value.code == 130
    assert capsys.readouterr().err == 'train.py: interrupted\n'


def test_return_codes_pass_through():
    with pytest.raises(SystemExit) as exit_info:
        run_tool(lambda: 3)
    assert exit_info.value.code == 3
    with pytest.raises(SystemExit) as exit_info:
        run_tool(lambda: {'fid': 1.0})  # tools that return their results exit 0
    assert exit_info.value.code == 0


def _run_tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, osp.join(REPO, 'tools', name), *args],
                          capture_output=True, text=True, cwd=REPO)


def test_truncated_checkpoint_to_generate_is_one_line(tmp_path, tiny_frozen_files):
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(b'PK\x03\x04 not a whole zip file')
    result = _run_tool('generate.py', 'configs/addp/smoke_tiny.py', str(truncated),
                       '--out', str(tmp_path / 'out'), '--num-images', '1', '--cfg-options',
                       f'model.tokenizer.checkpoint={tiny_frozen_files["vqgan"]}')
    assert result.returncode == 2, result.stderr[-2000:]
    assert 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"generate.py: error: could not read checkpoint '{truncated}'")
    assert not (tmp_path / 'out').exists()


def test_missing_source_to_convert_is_one_line(tmp_path):
    result = _run_tool('convert_official_checkpoint.py', str(tmp_path / 'missing.pth'),
                       str(tmp_path / 'out.pth'), '--kind', 'pretrain')
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"convert_official_checkpoint.py: error: checkpoint file not found: "
        f"'{tmp_path / 'missing.pth'}'. Check the path in the config (or pass it with "
        "--cfg-options) and download the file if it is missing."]


def _torch_file(path, obj):
    torch.save(obj, path)
    return path


@pytest.mark.parametrize('kind', ['truncated', 'empty', 'random bytes', 'text', 'refused'])
def test_broken_checkpoints_are_named_in_one_line(tmp_path, kind):
    path = tmp_path / 'broken.pth'
    if kind == 'truncated':
        whole = _torch_file(path, {'state_dict': {'w': torch.randn(64, 64)}}).read_bytes()
        path.write_bytes(whole[:len(whole) // 2])
        expected = 'truncated: the archive ends after'
    elif kind == 'empty':
        path.write_bytes(b'')
        expected = 'truncated: the file is empty'
    elif kind == 'random bytes':
        path.write_bytes(bytes(range(256)) * 4)
        expected = 'not a PyTorch checkpoint'
    elif kind == 'text':
        path.write_text('<html>404 Not Found</html>')
        expected = 'not a PyTorch checkpoint'
    else:
        _torch_file(path, {'state_dict': {}, 'trainer': Exception('an arbitrary object')})
        expected = 'unpickling refused: it holds exceptions.Exception'
    with pytest.raises(UnreadableInputError) as info:
        read_checkpoint(str(path))
    message = str(info.value)
    assert message.startswith(f"could not read checkpoint '{path}': {expected}")
    assert '\n' not in message and 'weights_only' not in message
