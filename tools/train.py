"""Trains an ADDP config with MMEngine: pretraining, fine-tuning or the smoke run.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--amp-dtype {float16,bfloat16}] [--deterministic] [--cfg-options KEY=VALUE ...]

``tools/dist_train.sh`` and ``tools/slurm_train.sh`` start it on several devices.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS, init_default_scope
from mmengine.runner import Runner

# The repository root, so that configs can custom-import the packages under projects/.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

# Importing addp.checkpoint allow-lists the types in MMEngine checkpoints, which torch>=2.6
# needs to --resume.
from addp.checkpoint import allow_mmengine_checkpoint_globals  # noqa: E402
from addp.cli import run_tool  # noqa: E402
from addp.dist import launcher_dist, wrap_model_for_cpus  # noqa: E402
from addp.engine import (  # noqa: E402
    apply_deterministic_switch,
    check_data_classes,
    check_train_batches,
    keep_random_state_hook,
    warn_if_resuming_changed_config,
)
from addp.errors import TrainingStoppedError  # noqa: E402
from addp.ops_stage import load_config  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train an ADDP model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a path from the latest checkpoint in '
        'the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (fp16 with a loss scaler)')
    parser.add_argument(
        '--amp-dtype',
        choices=['float16', 'bfloat16'],
        help='mixed precision in this dtype (implies --amp); bfloat16 needs no loss scaler')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='deterministic kernels, for a bit-exact resume on a GPU (randomness.deterministic; '
        'sets CUBLAS_WORKSPACE_CONFIG and turns off cuDNN autotuning; docs/speed.md gives the '
        'cost)')
    parser.add_argument(
        '--no-validate', action='store_true', help='do not evaluate during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the actual total batch over auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--no-pin-memory', action='store_true', help='disable pin_memory in dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in dataloaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, xxx=yyy, e.g. model.tokenizer.checkpoint=PATH; lists '
        'as key="[a,b]" with no white space')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank, older versions --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Applies the command-line options to ``cfg``."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    cfg.launcher = args.launcher
    # work_dir: command line > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp or args.amp_dtype:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        if args.amp_dtype:
            cfg.optim_wrapper.dtype = args.amp_dtype
        if args.amp_dtype == 'bfloat16':
            # bf16 has the exponent range of fp32: nothing underflows that scaling would save.
            cfg.optim_wrapper.loss_scale = dict(enabled=False)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True

    # persistent_workers stays as each config sets it: persistent workers make a resumed run
    # draw other augmentations than an uninterrupted one.
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(field, None)
        if loader is None:
            continue
        loader.setdefault('pin_memory', True)
        loader.setdefault('collate_fn', dict(type='default_collate'))
        if args.no_pin_memory:
            loader['pin_memory'] = False
        if args.no_persistent_workers:
            loader['persistent_workers'] = False

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # Last, so that a config or --cfg-options asking for it gets the CUDA settings too; before
    # anything starts CUDA, which reads the cuBLAS setting once.
    return apply_deterministic_switch(cfg, args.deterministic)


def train(cfg: Config) -> int:
    """Builds the runner and trains; its objects are gone once this returns, before the
    process group is left."""
    allow_mmengine_checkpoint_globals()
    # A runner_type is looked up in the config's scope.
    init_default_scope(cfg.get('default_scope', 'addp'))
    warn_if_resuming_changed_config(cfg)
    # Building the runner builds the model, which reads the frozen tokenizer and token
    # predictor files: a missing one stops here, before any data is loaded.
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    keep_random_state_hook(runner)
    check_train_batches(runner)
    check_data_classes(runner)
    try:
        runner.train()
    except TrainingStoppedError as err:
        runner.logger.error(str(err))
        # An exit, not a return: the process group is then left without the success-path
        # barrier, which a rank that stopped alone would make the others wait in.
        raise SystemExit(1) from err
    return 0


def main() -> int:
    args = parse_args()
    cfg = merge_args(load_config(args.config), args)
    with launcher_dist(cfg.launcher, **cfg.get('env_cfg', {}).get('dist_cfg', {})) as on_cpus:
        if on_cpus:
            wrap_model_for_cpus(cfg)
        return train(cfg)


if __name__ == '__main__':
    run_tool(main)
