"""Measurements and pipeline stages keyed by what produced them, so that none is ever stale.

A key is a small dict of named parts: constants (a number of samples, a seed, a guidance
scale), files (a checkpoint, a data split list; compared by content) and resolved configs
(compared by their entries once the cfg-options are merged). A cached measurement stores its
key beside its result, and a training stage records its key in its work dir. A rerun with
another key recomputes, with one line that names the parts that differ; a rerun with the same
key reuses the result silently.

The two commands serve ``projects/digits_study/tools/run_study.sh``::

    # the key of a training stage, as JSON on stdout
    python -m addp.measurement_cache stage-key CONFIG [--cfg-options KEY=VALUE ...]
        [--inputs FILE ...] [--constants KEY=VALUE ...]
    # exit 0: DONE_FILE was trained with this key; exit 3: train in STAGE_DIR (a run with another
    # key, or with none recorded, is moved aside first, and this key is recorded)
    python -m addp.measurement_cache stage-check CONFIG STAGE_DIR DONE_FILE [same options]
        [--prefix TEXT]
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from mmengine.config import Config, DictAction

from addp.fileio import write_text_atomically
from addp.ops_stage import load_config

# The file a training stage's work dir records its key in.
STAGE_KEY_FILE = 'stage_key.json'
# stage-check's exit status when the stage has to run (0: it is done with the same key).
RUN_STAGE = 3

# sha256 of files already read in this process, by (path, size, mtime): a study keys dozens
# of measurements on the same few checkpoints.
_DIGESTS: Dict[Tuple[str, int, int], str] = {}


def file_digest(path: str) -> str:
    """The sha256 of the content of the file at ``path``."""
    stat = os.stat(path)
    memo = (osp.abspath(path), stat.st_size, stat.st_mtime_ns)
    if memo not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                digest.update(block)
        _DIGESTS[memo] = digest.hexdigest()
    return _DIGESTS[memo]


def file_part(path: str) -> Dict[str, Optional[str]]:
    """A file as a key part: compared by content, shown by path; a missing file has no
    digest.

    Args:
        path (str): The file, e.g. a checkpoint or a data split list.
    """
    return dict(file=path, sha256=file_digest(path) if osp.isfile(path) else None)


def config_part(cfg: Config) -> Dict[str, Optional[str]]:
    """A resolved config as a key part: compared by its entries (bases and cfg-options
    merged, key order ignored), shown by its file name.

    Args:
        cfg (Config): The config as it will be used.
    """
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=repr)
    return dict(config=cfg.filename, sha256=hashlib.sha256(text.encode()).hexdigest())


def resolved_config(path: str, cfg_options: Optional[Mapping[str, Any]] = None) -> Config:
    """The config at ``path`` with ``cfg_options`` merged, as ``tools/train.py`` reads it."""
    cfg = load_config(path)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    return cfg


def _shown(path: Optional[str]) -> str:
    """``path`` relative to the current folder when it lies inside it."""
    if not path:
        return str(path)
    relative = osp.relpath(path)
    return path if relative.startswith('..') else relative


def _same(stored: Any, current: Any) -> bool:
    """Whether two key parts are equal: files and configs by digest, the rest by value."""
    if isinstance(stored, dict) and isinstance(current, dict) and 'sha256' in current:
        return stored.get('sha256') == current['sha256']
    return stored == current


def _change(name: str, stored: Any, current: Any) -> str:
    """One phrase naming how the part ``name`` changed."""
    for kind in ('file', 'config'):
        if isinstance(current, dict) and kind in current:
            path = _shown(current[kind])
            what = f'the file {path}' if name == current[kind] else f'the {name} {path}'
            return f'{what} is missing' if current['sha256'] is None else f'{what} changed'
    return f'{name} changed {json.dumps(stored)} -> {json.dumps(current)}'


def key_changes(stored: Optional[Mapping[str, Any]], current: Mapping[str, Any]) -> List[str]:
    """How ``current`` differs from ``stored``, one phrase per part; empty when they match.

    Args:
        stored (Mapping, optional): The key recorded with a result; None when there is none.
        current (Mapping): The key of what would produce the result now.

    Returns:
        list[str]: Phrases such as ``'NUM_SAMPLES changed 200 -> 100'`` or ``'the checkpoint
        addp/iter_3000.pth changed'``.
    """
    if not isinstance(stored, Mapping):
        return ['no key was stored with it']
    current = json.loads(json.dumps(current))  # tuples as lists, as the stored key has them
    changes = [_change(name, stored.get(name), part) for name, part in current.items()
               if name in stored and not _same(stored[name], part)]
    changes += [f'{name} is new in the key' for name in current if name not in stored]
    changes += [f'{name} is no longer in the key' for name in stored if name not in current]
    return changes


def _read_json(path: str) -> Optional[Any]:
    """The JSON at ``path``, or None when it is missing or unreadable (a partial write)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _write_json(obj: Any, path: str) -> None:
    write_text_atomically(path, json.dumps(obj, indent=2, sort_keys=True) + '\n')


def cached(path: str, key: Mapping[str, Any], compute: Callable[[], Any],
           prefix: str = '[cache]') -> Any:
    """``compute()``'s result, or the one stored at ``path`` by a run with the same key.

    When a stored result has another key (or none), it is recomputed and one line says why,
    e.g. ``[study] recomputing addp_3000_knn_seed0: the checkpoint addp/iter_3000.pth
    changed``. The result is stored with its key, atomically.

    Args:
        path (str): The JSON file of the measurement; its name (without ``.json``) names it.
        key (Mapping): Named parts of what produced it (see :func:`file_part`,
            :func:`config_part`); other parts are JSON values compared as they are.
        compute (Callable): Measures; its result must be JSON-serialisable.
        prefix (str): Starts the line printed on a recomputation.
    """
    if osp.isfile(path):
        stored = _read_json(path)
        if not isinstance(stored, dict) or set(stored) != {'key', 'result'}:
            changes = ['no key was stored with it']
        else:
            changes = key_changes(stored['key'], key)
            if not changes:
                return stored['result']
        name = osp.splitext(osp.basename(path))[0]
        print(f'{prefix} recomputing {name}: {"; ".join(changes)}', flush=True)
    result = compute()
    _write_json(dict(key=key, result=result), path)
    return result


def stage_key(config: str, cfg_options: Optional[Mapping[str, Any]] = None,
              inputs: Sequence[str] = (),
              constants: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The key of a training stage: its resolved config, the files it reads and constants.

    A cfg-option whose value names a file (a frozen tokenizer, a token predictor) keys that
    file's content too, so that retraining an earlier stage retrains the stages built on it.

    Args:
        config (str): The training config.
        cfg_options (Mapping, optional): The ``--cfg-options`` the stage trains with.
        inputs (Sequence[str]): Other files the stage reads (a data split list).
        constants (Mapping, optional): Other values that decide the stage's output.
    """
    cfg_options = dict(cfg_options or {})
    key: Dict[str, Any] = {'config': config_part(resolved_config(config, cfg_options))}
    for option, value in sorted(cfg_options.items()):
        if isinstance(value, str) and osp.isfile(value):
            key[option] = file_part(value)
    key.update({path: file_part(path) for path in inputs})
    key.update(constants or {})
    return key


def _aside_path(stage_dir: str) -> str:
    """A new path beside ``stage_dir`` for an earlier run of it."""
    stamp = time.strftime('%Y%m%d-%H%M%S')
    path, number = f'{stage_dir}.replaced-{stamp}', 1
    while osp.exists(path):
        number += 1
        path = f'{stage_dir}.replaced-{stamp}-{number}'
    return path


def check_stage(stage_dir: str, done_file: str, key: Mapping[str, Any],
                prefix: str = '[stage]') -> bool:
    """Whether a stage is done with ``key``; if not, prepares ``stage_dir`` for its run.

    A run in ``stage_dir`` recorded with ``key`` is this stage's: done when ``done_file``
    exists, else it resumes. A run with another key or none recorded (an earlier version of
    the recipe) is moved aside, with ``done_file`` when that lies outside it, and one line says
    why and where it went; nothing finished is deleted. Then ``stage_dir`` is created and
    ``key`` recorded in it, so that the new run starts fresh.

    Args:
        stage_dir (str): The stage's work dir.
        done_file (str): The file that exists once the stage is finished (the last checkpoint,
            or the part exported from it).
        key (Mapping): The stage's key (:func:`stage_key`).
        prefix (str): Starts the printed lines.

    Returns:
        bool: True when the stage is done and should be skipped.
    """
    name = osp.basename(osp.normpath(stage_dir))
    key_path = osp.join(stage_dir, STAGE_KEY_FILE)
    stored = _read_json(key_path) if osp.isdir(stage_dir) else None
    changes = key_changes(stored, key)
    if not changes:
        if osp.exists(done_file):
            print(f'{prefix} {name}: done before ({done_file}), same key', flush=True)
            return True
        return False  # this key's run stopped part-way: it resumes
    earlier = [path for path in (stage_dir, done_file) if osp.exists(path)]
    if earlier:
        aside = _aside_path(stage_dir)
        if osp.isdir(stage_dir):
            os.replace(stage_dir, aside)
        else:
            os.makedirs(aside)
        if osp.exists(done_file):  # an export beside the stage dir
            os.replace(done_file, osp.join(aside, osp.basename(done_file)))
        print(f'{prefix} rerunning {name} from scratch: {"; ".join(changes)}; the earlier '
              f'outputs are moved to {aside}', flush=True)
    os.makedirs(stage_dir, exist_ok=True)
    _write_json(dict(key), key_path)
    return False


def _parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m addp.measurement_cache',
                                     description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    key_parser = argparse.ArgumentParser(add_help=False)
    key_parser.add_argument('config', help='the training config of the stage')
    key_parser.add_argument('--cfg-options', nargs='*', action=DictAction, default={},
                            help='the options the stage trains with, KEY=VALUE')
    key_parser.add_argument('--inputs', nargs='*', default=[],
                            help='other files the stage reads')
    key_parser.add_argument('--constants', nargs='*', action=DictAction, default={},
                            help='other values that decide the output, KEY=VALUE')
    commands.add_parser('stage-key', parents=[key_parser],
                        help="print a stage's key as JSON")
    check = commands.add_parser(
        'stage-check', parents=[key_parser],
        help=f'exit 0 when the stage is done with the same key, {RUN_STAGE} to run it')
    check.add_argument('stage_dir', help="the stage's work dir")
    check.add_argument('done_file', help='the file that exists once the stage is finished')
    check.add_argument('--prefix', default='[stage]', help='starts the printed lines')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse_args(argv)
    key = stage_key(args.config, args.cfg_options, args.inputs, args.constants)
    if args.command == 'stage-key':
        print(json.dumps(key, indent=2, sort_keys=True))
        return 0
    return 0 if check_stage(args.stage_dir, args.done_file, key, args.prefix) else RUN_STAGE


if __name__ == '__main__':
    from addp.cli import run_tool
    run_tool(main)
