"""Evaluates a classifier (or any model of an ADDP config) on its test set.

Usage:
    python tools/test.py CONFIG [CHECKPOINT] [--work-dir DIR] [--out FILE]
        [--out-item {metrics,pred}] [--cfg-options KEY=VALUE ...] [--amp]
        [--launcher {none,pytorch,slurm,mpi}]

CHECKPOINT defaults to the config's ``load_from``. Metrics are printed and written, with the
config, under the work directory (``work_dirs/<config name>`` unless ``--work-dir`` is given).
"""
import argparse
import os
import os.path as osp
import sys

import mmengine
from mmengine.config import Config, DictAction
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS, init_default_scope
from mmengine.runner import Runner

# The repository root, so that configs can custom-import the packages under projects/.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from addp.checkpoint import allow_mmengine_checkpoint_globals  # noqa: E402
from addp.cli import run_tool  # noqa: E402
from addp.dist import launcher_dist, wrap_model_for_cpus  # noqa: E402
from addp.errors import InputNotFoundError, InvalidInputError  # noqa: E402
from addp.fileio import write_atomically  # noqa: E402
from addp.ops_stage import load_config  # noqa: E402

PRED_SUFFIXES = ('.pkl', '.pickle')
METRIC_SUFFIXES = ('.json', '.yaml', '.yml', '.pkl', '.pickle')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint', nargs='?', default=None,
        help='checkpoint file; defaults to the config\'s load_from')
    parser.add_argument('--work-dir', help='directory for the metrics and logs')
    parser.add_argument('--out', help='file to write the predictions (.pkl) or metrics to')
    parser.add_argument(
        '--out-item', choices=['metrics', 'pred'], default='pred',
        help='what --out holds: per-sample predictions (default) or the metrics')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. test_dataloader.dataset.data_root=DIR')
    parser.add_argument('--amp', action='store_true', help='test in mixed precision')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def check_out_file(out: str, out_item: str) -> None:
    """Fails before testing, not after, when ``--out`` cannot be written."""
    suffixes = PRED_SUFFIXES if out_item == 'pred' else METRIC_SUFFIXES
    if not out.endswith(suffixes):
        raise InvalidInputError(f'--out {out!r}: {out_item} are written to a file ending in '
                                f'{" or ".join(suffixes)}; rename it')
    out_dir = osp.dirname(osp.abspath(out))
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise InvalidInputError(f'--out {out!r}: {out_dir!r} is a file, not a directory')


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Applies the command line to the config."""
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    checkpoint = args.checkpoint or cfg.get('load_from')
    if not checkpoint:
        raise InvalidInputError('no checkpoint: pass one after the config, or set load_from in it')
    if '://' not in checkpoint and not osp.isfile(checkpoint):
        raise InputNotFoundError(f'checkpoint file not found: {checkpoint!r}. For an official '
                                 'ADDP fine-tuned file, convert it first with '
                                 'tools/convert_official_checkpoint.py SRC DST --kind classifier')
    cfg.load_from = checkpoint

    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    return cfg


def test(cfg: Config, args: argparse.Namespace) -> None:
    """Builds the runner and tests; its objects are gone once this returns."""
    allow_mmengine_checkpoint_globals()
    init_default_scope(cfg.get('default_scope', 'addp'))
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    if args.out and args.out_item == 'pred':
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = runner.test()

    if args.out and args.out_item == 'metrics' and runner.rank == 0:
        file_format = osp.splitext(args.out)[1].lstrip('.')
        write_atomically(args.out,
                         lambda tmp: mmengine.dump(metrics, tmp, file_format=file_format))


def main() -> None:
    args = parse_args()
    if args.out:
        check_out_file(args.out, args.out_item)
    cfg = merge_args(load_config(args.config), args)
    with launcher_dist(cfg.launcher, **cfg.get('env_cfg', {}).get('dist_cfg', {})) as on_cpus:
        if on_cpus:
            wrap_model_for_cpus(cfg)
        test(cfg, args)


if __name__ == '__main__':
    run_tool(main)
