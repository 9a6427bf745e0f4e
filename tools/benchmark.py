"""Measures ADDP's speed: images/s, seconds per step, peak memory and achieved FLOP/s.

    # one pretraining step (tokenize, two token-predictor passes, decode, encode, decode,
    # loss, backward, AdamW) at ViT-B, 256 px, batch 2, on the CPU
    python tools/benchmark.py pretrain --arch base
    # one sampling step on a GPU in bf16, compiled
    python tools/benchmark.py generate --arch large --device cuda --amp-dtype bfloat16 --compile
    # sampling with classifier-free guidance (a class-conditional decoder, twice the batch)
    python tools/benchmark.py generate --arch base --cfg-scale 3 --whole
    # any ADDP config, with a profile of the top operators
    python tools/benchmark.py pretrain --config configs/addp/smoke_tiny.py --profile prof.txt
    # CheckedCustomDataset's file check: a first run and an unchanged rerun on 100,000 small
    # JPEGs, and the rate on ImageNet-size JPEGs projected to ImageNet's 1,281,167 files
    python tools/benchmark.py folder-check --num-files 100000 --size 32

Weights are random and the frozen parts are built without their files. The FLOP count is
``torch.utils.flop_counter``'s for one step: matrix products, convolutions and attention.
"""
import argparse
import io
import os
import platform
import resource
import shutil
import tempfile
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from addp.apis import AMP_DTYPES, autocast_context, sampling_image_size
from addp.cli import run_tool
from addp.datasets import CheckedCustomDataset
from addp.datasets.image_checks import available_cpus, check_files, header_problem
from addp.engine.determinism import CUBLAS_WORKSPACE_CONFIG
from addp.errors import InvalidInputError
from addp.models import ADDP
from addp.models.sampling import ADDPSampler
from addp.registry import MODELS

ARCH_CONFIGS = {'tiny': 'configs/addp/pretrain_base.py', 'base': 'configs/addp/pretrain_base.py',
                'large': 'configs/addp/pretrain_large.py'}
IMAGENET_TRAIN_FILES = 1281167
# ImageNet's median photo size; quality 90 gives files of about ImageNet's mean size.
IMAGENET_PHOTO_SIZE = (500, 375)
# Header checks timed on the ImageNet-size files at least this many times over, so that the
# worker processes' start is a small part of the time.
MIN_PROJECTED_CHECKS = 20000
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
    parser.add_argument('mode', choices=['pretrain', 'generate', 'folder-check'])
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
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic kernels, as tools/train.py --deterministic sets them')
    parser.add_argument('--vqgan-layout', choices=['channels_last', 'contiguous'],
                        default='channels_last',
                        help="the tokenizer's convolution layout (channels_last as built)")
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
    parser.add_argument('--num-files', type=int, default=100000,
                        help='folder-check: JPEGs in the generated folder')
    parser.add_argument('--size', type=int, default=32,
                        help='folder-check: side of the generated JPEGs, in pixels')
    parser.add_argument('--imagenet-files', type=int, default=300,
                        help='folder-check: ImageNet-size JPEGs (500x375) the rate is taken on')
    parser.add_argument('--workers', type=int, default=8,
                        help="folder-check: the dataset's num_workers (capped at the CPUs)")
    parser.add_argument('--dir', help='folder-check: write the images here (kept) instead of '
                        'a temporary folder (removed)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if min(args.batch_size, args.iters) < 1 or args.warmup < 0:
        parser.error('--batch-size and --iters must be positive, --warmup not negative')
    if not 0 <= args.gen_step < args.num_steps:
        parser.error('--gen-step must lie in [0, --num-steps)')
    if min(args.num_files, args.size, args.imagenet_files, args.workers) < 1:
        parser.error('--num-files, --size, --imagenet-files and --workers must be positive')
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
    if args.vqgan_layout == 'contiguous':
        model.tokenizer.to(memory_format=torch.contiguous_format)
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
    labels = (torch.zeros(args.batch_size, dtype=torch.long, device=args.device) if guided
              else None)
    torch.manual_seed(args.seed)
    if args.whole:
        def run() -> None:
            with torch.no_grad(), autocast_context(args.device, args.amp_dtype):
                sampler.generate(model, token_ids, mask, size, labels=labels)
        return run
    with torch.no_grad(), autocast_context(args.device, args.amp_dtype):
        state = sampler.initial_state(model, token_ids, mask, size)
        num_unknown = state.num_masked
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
    options = [f'amp={args.amp_dtype}'] + [o for o in ('compile', 'with_cp', 'deterministic')
                                           if getattr(args, o)]
    if args.cfg_scale is not None:
        options.append(f'cfg_scale={args.cfg_scale:g}')
    if args.vqgan_layout != 'channels_last':
        options.append(f'vqgan_layout={args.vqgan_layout}')
    return (f'{args.mode} {source} batch={args.batch_size} size={sampling_image_size(model)[0]} '
            f'device={device} torch={torch.__version__} {" ".join(options)}')


def cpu_model() -> str:
    """The CPU's model name, as ``lscpu`` gives it."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def encode_jpeg(rng: np.random.Generator, width: int, height: int, quality: int) -> bytes:
    """A photo-like JPEG: smooth colour fields with fine grain."""
    coarse = rng.integers(0, 256, (max(height // 8, 1), max(width // 8, 1), 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC))
    grain = rng.integers(-12, 13, smooth.shape)
    pixels = np.clip(smooth.astype(np.int16) + grain, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, 'JPEG', quality=quality)
    return buffer.getvalue()


def write_jpegs(folder: str, count: int, width: int, height: int, quality: int = 90,
                num_classes: int = 100, distinct: int = 16) -> List[str]:
    """``count`` real JPEGs in ``num_classes`` class subfolders, as ImageNet lays them out.

    ``distinct`` images are encoded once; each file gets its own comment segment after the
    start marker, so that every file differs while staying a valid JPEG.
    """
    rng = np.random.default_rng(0)
    encoded = [encode_jpeg(rng, width, height, quality) for _ in range(distinct)]
    classes = [os.path.join(folder, f'class_{c:03d}') for c in range(min(num_classes, count))]
    for path in classes:
        os.makedirs(path, exist_ok=True)
    paths = []
    for i in range(count):
        comment = f'benchmark file {i}'.encode()
        segment = b'\xff\xfe' + (len(comment) + 2).to_bytes(2, 'big') + comment
        data = encoded[i % distinct]
        path = os.path.join(classes[i % len(classes)], f'{i:07d}.jpg')
        with open(path, 'wb') as f:
            f.write(data[:2] + segment + data[2:])
        paths.append(path)
    return paths


def timed_dataset(folder: str, cache: str, workers: int) -> Dict[str, float]:
    """Builds a checked dataset on ``folder``; its check counts and the wall time."""
    start = time.perf_counter()
    dataset = CheckedCustomDataset(data_root=folder, pipeline=[], check_cache=cache,
                                   num_workers=workers)
    seconds = time.perf_counter() - start
    return dict(dataset.check_summary, seconds=seconds, images=len(dataset))


def children_cpu_seconds() -> float:
    """CPU time of the finished child processes (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def imagenet_rate(folder: str, count: int, workers: int) -> Dict[str, float]:
    """Header-check cost on ImageNet-size JPEGs, page cache warm: wall and CPU time per file
    in one process (the best of three passes), and files/s and CPU time per file with
    ``workers`` processes."""
    paths = write_jpegs(folder, count, *IMAGENET_PHOTO_SIZE, num_classes=1)
    for path in paths:  # into the page cache: the projection leaves disk reads out
        header_problem(path)
    walls, cpus = [], []
    for _ in range(3):  # the best of three: the least disturbed by other work
        wall, cpu = time.perf_counter(), time.process_time()
        for path in paths:
            header_problem(path)
        walls.append((time.perf_counter() - wall) / len(paths))
        cpus.append((time.process_time() - cpu) / len(paths))
    repeated = paths * -(-MIN_PROJECTED_CHECKS // len(paths))
    wall, cpu, children = time.perf_counter(), time.process_time(), children_cpu_seconds()
    reasons = check_files(repeated, 'header', workers)
    parallel_wall = time.perf_counter() - wall
    parallel_cpu = time.process_time() - cpu + children_cpu_seconds() - children
    if any(reasons):
        raise RuntimeError(f'the benchmark wrote JPEGs that fail the check: {reasons[:3]}')
    return dict(mean_kb=sum(os.path.getsize(p) for p in paths) / len(paths) / 1e3,
                wall_per_file=min(walls), cpu_per_file=min(cpus),
                files_per_second=len(repeated) / parallel_wall,
                parallel_cpu_per_file=parallel_cpu / len(repeated))


def folder_check(args: argparse.Namespace) -> Dict[str, float]:
    """Times CheckedCustomDataset's file check: first run, unchanged rerun, ImageNet rate."""
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    root = args.dir or tempfile.mkdtemp(prefix='addp_folder_check_')
    workers = min(args.workers, available_cpus())
    try:
        folder, cache = os.path.join(root, 'folder'), os.path.join(root, 'check_cache')
        start = time.perf_counter()
        write_jpegs(folder, args.num_files, args.size, args.size)
        written = time.perf_counter() - start
        first = timed_dataset(folder, cache, args.workers)
        rerun = timed_dataset(folder, cache, args.workers)
        rate = imagenet_rate(os.path.join(root, 'imagenet_size'), args.imagenet_files,
                             args.workers)
    finally:
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)
    result = dict(first_seconds=first['seconds'], rerun_seconds=rerun['seconds'],
                  write_seconds=written, imagenet_us_per_file=rate['wall_per_file'] * 1e6,
                  imagenet_cpu_us_per_file=rate['cpu_per_file'] * 1e6,
                  imagenet_files_per_second=rate['files_per_second'],
                  projected_seconds=IMAGENET_TRAIN_FILES / rate['files_per_second'],
                  projected_cpu_seconds=(IMAGENET_TRAIN_FILES * rate['parallel_cpu_per_file']
                                         / workers),
                  projected_one_process_seconds=IMAGENET_TRAIN_FILES * rate['wall_per_file'])
    print(f'folder-check: {args.num_files} JPEGs of {args.size}x{args.size} px in class '
          f'folders (written in {written:.1f} s); {workers} workers of {available_cpus()} CPUs '
          f'({cpu_model()}, load average {load:.1f} at the start); Pillow {Image.__version__}')
    for name, run in (('first check', first), ('unchanged rerun', rerun)):
        print(f'{name}: {run["checked"]} checked, {run["cached"]} from the cache, '
              f'{run["seconds"]:.2f} s ({run["images"] / run["seconds"]:.0f} files/s)')
    width, height = IMAGENET_PHOTO_SIZE
    print(f'ImageNet-size JPEGs ({width}x{height}, quality 90, mean {rate["mean_kb"]:.0f} kB, '
          f'page cache warm): {rate["wall_per_file"] * 1e6:.0f} us/file '
          f'({rate["cpu_per_file"] * 1e6:.0f} us CPU) in one process; '
          f'{rate["files_per_second"]:.0f} files/s with {workers} workers '
          f'({rate["parallel_cpu_per_file"] * 1e6:.0f} us CPU/file)')
    # CPU time is what the check costs where the cores are not shared with other work.
    print(f'projected for {IMAGENET_TRAIN_FILES:,} files, one checking rank: '
          f'{result["projected_seconds"]:.0f} s with {workers} workers at the wall-clock rate '
          f'measured here, {result["projected_cpu_seconds"]:.0f} s from CPU time; '
          f'{result["projected_one_process_seconds"]:.0f} s in one process. Targets: <= 120 s '
          'for ImageNet, <= 10 s for an unchanged rerun of 100,000 files')
    return result


def main(argv: Optional[list] = None) -> Dict[str, float]:
    args = parse_args(argv)
    if args.mode == 'folder-check':
        return folder_check(args)
    if torch.device(args.device).type == 'cuda' and not torch.cuda.is_available():
        raise InvalidInputError('--device cuda but torch sees no GPU; use --device cpu')
    if args.deterministic:
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', CUBLAS_WORKSPACE_CONFIG)
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
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
