"""Measures ADDP's speed: images/s, seconds per step, peak memory and achieved FLOP/s.

    # one pretraining step (tokenize, two token-predictor passes, decode, encode, decode,
    # loss, backward, AdamW) at ViT-B, 256 px, batch 2, on the CPU
    python tools/benchmark.py pretrain --arch base
    # one sampling step on a GPU in bf16, compiled
    python tools/benchmark.py generate --arch large --device cuda --amp-dtype bfloat16 --compile
    # sampling with classifier-free guidance (a class-conditional decoder, twice the batch)
    python tools/benchmark.py generate --arch base --cfg-scale 3 --whole
    # any ADDP config, with a profile of the top operators
    python tools/benchmark.py pretrain --config configs/addp/demo_tiny.py --profile prof.txt

Weights are random and the frozen parts are built without their files. The FLOP count is
``torch.utils.flop_counter``'s for one step: matrix products, convolutions and attention.
"""
import argparse
import os
import platform
import resource
import time
from typing import Callable, Dict, Optional

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.utils.flop_counter import FlopCounterMode

from addp.apis import AMP_DTYPES, autocast_context, sampling_image_size
from addp.cli import run_tool
from addp.errors import InvalidInputError
from addp.models import ADDP
from addp.models.generation import ADDPSampler
from addp.registry import MODELS

ARCH_CONFIGS = {'tiny': 'configs/addp/pretrain_base.py', 'base': 'configs/addp/pretrain_base.py',
                'large': 'configs/addp/pretrain_large.py'}
# The 'tiny' comparison shape: a 192-wide, 4-deep encoder (the decoder as wide, 8 deep) and a
# 256-wide, 12-deep token predictor, with the full VQGAN.
TINY_OVERRIDES = {
    'backbone.arch': dict(embed_dims=192, num_layers=4, num_heads=3),
    'neck.in_channels': 192, 'neck.embed_dims': 192, 'neck.num_heads': 3,
    'token_predictor.arch': dict(embed_dims=256, num_layers=12, num_heads=4,
                                 decoder_embed_dims=256, decoder_num_layers=8,
                                 decoder_num_heads=4)}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('mode', choices=['pretrain', 'generate'])
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--arch', choices=sorted(ARCH_CONFIGS), default='base')
    source.add_argument('--config', help='an ADDP config instead of --arch')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps first')
    parser.add_argument('--iters', type=int, default=3, help='timed steps')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp-dtype', choices=AMP_DTYPES, default='none',
                        help='autocast dtype; the vocabulary softmax and the loss stay fp32')
    parser.add_argument('--compile', action='store_true', help='torch.compile the networks')
    parser.add_argument('--with-cp', action='store_true',
                        help='activation checkpointing in the encoder and decoder blocks')
    parser.add_argument('--mask-ratio', type=float,
                        help='pretrain: fix the mask ratio (the schedule point at or above it) '
                        'so that every step has the same shapes')
    parser.add_argument('--gen-step', type=int, default=10,
                        help='generate: time step k of --num-steps (run to it first)')
    parser.add_argument('--num-steps', type=int, default=20, help='generate: sampling steps')
    parser.add_argument('--whole', action='store_true',
                        help='generate: time whole runs (blank canvas and every step)')
    parser.add_argument('--cfg-scale', type=float,
                        help='generate: sample classes with this guidance scale (the decoder '
                        'is built class-conditional); default: unconditional')
    parser.add_argument('--profile', help='write a torch.profiler table of one step here')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if min(args.batch_size, args.iters) < 1 or args.warmup < 0:
        parser.error('--batch-size and --iters must be positive, --warmup not negative')
    if not 0 <= args.gen_step < args.num_steps:
        parser.error('--gen-step must lie in [0, --num-steps)')
    return args


def build_model(args: argparse.Namespace) -> torch.nn.Module:
    """The config's ADDP with random weights, with the benchmark's options applied."""
    cfg = Config.fromfile(args.config or ARCH_CONFIGS[args.arch])
    init_default_scope(cfg.get('default_scope', 'addp'))
    model_cfg = ADDP.config_without_frozen_files(cfg.model)
    if args.config is None and args.arch == 'tiny':
        for key, value in TINY_OVERRIDES.items():
            part, name = key.split('.')
            model_cfg[part][name] = value
    if args.mode == 'generate':
        model_cfg = ADDP.inference_config(model_cfg)
        if args.cfg_scale is not None:
            model_cfg.neck.class_conditional = True
    if args.with_cp:
        model_cfg.backbone.with_cp = model_cfg.neck.with_cp = True
    if args.mask_ratio is not None:
        model_cfg.mask_generator = dict(model_cfg.mask_generator, ratio_min=args.mask_ratio,
                                        ratio_max=min(args.mask_ratio + 0.02, 1.))
    torch.manual_seed(args.seed)
    # Weights keep their construction-time random values: speed does not depend on them.
    model = MODELS.build(model_cfg).to(args.device)
    if args.compile:
        for name in ('backbone', 'neck'):
            getattr(model, name).compile()
    return model.train(args.mode == 'pretrain')


def pretrain_step(model, args) -> Callable[[], None]:
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05)
    images = torch.rand(args.batch_size, 3, *sampling_image_size(model), device=args.device)

    def step() -> None:
        torch.manual_seed(args.seed + 1)  # the same masks, hence the same shapes, every step
        with autocast_context(args.device, args.amp_dtype):
            loss = model.loss(images)['loss']
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 3.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def generate_step(model, args) -> Callable[[], None]:
    guided = args.cfg_scale is not None
    sampler = ADDPSampler(num_steps=args.num_steps, cfg_scale=args.cfg_scale if guided else 1.)
    size = sampling_image_size(model)
    num_tokens = model.neck.num_patches
    token_ids = torch.zeros(args.batch_size, num_tokens, dtype=torch.long, device=args.device)
    mask = torch.ones_like(token_ids, dtype=torch.bool)
    labels = torch.zeros(args.batch_size, dtype=torch.long) if guided else None
    torch.manual_seed(args.seed)
    if args.whole:
        def run() -> None:
            with torch.no_grad(), autocast_context(args.device, args.amp_dtype):
                sampler.generate(model, token_ids, mask, size, labels=labels)
        return run
    with torch.no_grad(), autocast_context(args.device, args.amp_dtype):
        state = sampler.initial_state(model, token_ids, mask, size)
        num_unknown = state.mask.sum(dim=1)
        for k in range(args.gen_step):
            state = sampler.step(model, state, k, num_unknown, labels=labels)

    def step() -> None:
        with torch.no_grad(), autocast_context(args.device, args.amp_dtype):
            sampler.step(model, state, args.gen_step, num_unknown, labels=labels)
    return step


def synchronize(device: str) -> None:
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def peak_memory_gib(device: str) -> float:
    if torch.device(device).type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**30
    # ru_maxrss is in KiB on Linux: the peak resident set of the whole process.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def measure(step: Callable[[], None], args) -> Dict[str, float]:
    """Warm-up, one FLOP-counted step, then the timed steps."""
    for _ in range(args.warmup):
        step()
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    if torch.device(args.device).type == 'cuda':
        torch.cuda.reset_peak_memory_stats(args.device)
    synchronize(args.device)
    seconds = []
    for _ in range(args.iters):
        start = time.perf_counter()
        step()
        synchronize(args.device)
        seconds.append(time.perf_counter() - start)
    mean = sum(seconds) / len(seconds)
    flops = counter.get_total_flops()
    return dict(seconds=mean, images_per_second=args.batch_size / mean,
                peak_gib=peak_memory_gib(args.device), gflop=flops / 1e9,
                gflops_per_second=flops / mean / 1e9)


def write_profile(step: Callable[[], None], args, rows: int = 25) -> None:
    os.environ.setdefault('KINETO_LOG_LEVEL', '5')  # no GPU-probe errors on CPU machines
    activities = [torch.profiler.ProfilerActivity.CPU]
    sort_by = 'self_cpu_time_total'
    if torch.device(args.device).type == 'cuda':
        activities.append(torch.profiler.ProfilerActivity.CUDA)
        sort_by = 'self_cuda_time_total'
    with torch.profiler.profile(activities=activities) as profiler:
        step()
        synchronize(args.device)
    table = profiler.key_averages().table(sort_by=sort_by, row_limit=rows)
    with open(args.profile, 'w') as f:
        f.write(table + '\n')


def describe(args, model) -> str:
    source = args.config or f'arch={args.arch}'
    device = args.device
    if torch.device(device).type == 'cuda':
        device += f' ({torch.cuda.get_device_name(device)})'
    else:
        device += f' ({platform.processor() or platform.machine()}, '
        device += f'{torch.get_num_threads()} threads)'
    options = [f'amp={args.amp_dtype}'] + [o for o in ('compile', 'with_cp') if getattr(args, o)]
    if args.cfg_scale is not None:
        options.append(f'cfg_scale={args.cfg_scale:g}')
    return (f'{args.mode} {source} batch={args.batch_size} size={sampling_image_size(model)[0]} '
            f'device={device} torch={torch.__version__} {" ".join(options)}')


def main(argv: Optional[list] = None) -> Dict[str, float]:
    args = parse_args(argv)
    if torch.device(args.device).type == 'cuda' and not torch.cuda.is_available():
        raise InvalidInputError('--device cuda but torch sees no GPU; use --device cpu')
    model = build_model(args)
    step = (pretrain_step if args.mode == 'pretrain' else generate_step)(model, args)
    result = measure(step, args)
    print(describe(args, model))
    unit = 'run' if args.mode == 'generate' and args.whole else 'step'
    print(f'{result["images_per_second"]:.3f} images/s  {result["seconds"]:.3f} s/{unit}  '
          f'peak {result["peak_gib"]:.2f} GiB  {result["gflop"]:.1f} GFLOP/{unit}  '
          f'{result["gflops_per_second"]:.1f} GFLOP/s')
    if args.profile:
        write_profile(step, args)
        print(f'profile: {args.profile}')
    return result


if __name__ == '__main__':
    run_tool(main)
