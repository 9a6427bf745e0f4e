"""Sample images with a trained ADDP model, unconditionally or by editing an image.

Unconditional (no dataset needed)::

    python tools/generate.py CONFIG CHECKPOINT --num-images 50000 --out DIR

Editing: keep a box or the white part of a mask, generate the rest::

    python tools/generate.py CONFIG CHECKPOINT --num-images 8 --out DIR \
        --image photo.jpg --keep-box 64,64,192,192

Class-conditional models, with classifier-free guidance; one sub-folder per class (DIR/7/)::

    python tools/generate.py CONFIG CHECKPOINT --classes 0,3,7 --per-class 16 --out DIR \
        --cfg-scale 3 --cfg-schedule linear

Several GPUs: ``torchrun --nproc_per_node 8 tools/generate.py ... --launcher pytorch``.
"""
import argparse
import hashlib
import os.path as osp
import platform
from typing import Dict, List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.dist import get_dist_info

from addp import __version__
from addp.apis import (
    AMP_DTYPES,
    autocast_context,
    blank_canvas,
    build_sampling_model,
    edit_canvas,
    parse_keep_box,
    sample_to_folder,
    sampling_image_size,
)
from addp.cli import run_tool
from addp.dist import launcher_dist
from addp.models import ADDP
from addp.models.sampling import (
    GUIDANCE_SCHEDULES,
    MASK_SCHEDULES,
    SAMPLING_STRATEGIES,
    ADDPSampler,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config, e.g. configs/_base_/models/addp_vit_base.py')
    parser.add_argument('checkpoint', help='official addp-vit-*-16.pth or an MMEngine checkpoint')
    parser.add_argument('--num-images', type=int, help='images in the folder')
    parser.add_argument('--out', required=True, help='output folder (resumable)')
    recipe = parser.add_argument_group('decoding (defaults: the released 20-step recipe)')
    recipe.add_argument('--num-steps', type=int, default=20)
    recipe.add_argument('--schedule', choices=MASK_SCHEDULES, default='cosine')
    recipe.add_argument('--choice-temperature', type=float, default=6.0)
    recipe.add_argument('--temperature-strategy', choices=('dynamic', 'static'),
                        default='dynamic')
    recipe.add_argument('--sampling', choices=SAMPLING_STRATEGIES, default='categorical')
    recipe.add_argument('--top-p', type=float, default=1.0, help='nucleus mass for top_p')
    classes = parser.add_argument_group('classes (class-conditional models)')
    classes.add_argument('--classes', help='comma-separated class indices, e.g. 0,3,7: one '
                         'sub-folder of --per-class images each')
    classes.add_argument('--per-class', type=int, help='images per class')
    classes.add_argument('--cfg-scale', type=float, default=1.0,
                         help='guidance scale w: uncond + w * (cond - uncond); 1 is plain '
                         'conditional sampling, 0 unconditional')
    classes.add_argument('--cfg-schedule', choices=GUIDANCE_SCHEDULES, default='constant',
                         help='constant w, or a linear ramp from 1 to w over the steps')
    parser.add_argument('--batch-size', type=int, default=64, help='images per process and pass')
    parser.add_argument('--seed', type=int, default=0, help='image i depends on (seed, i) only')
    parser.add_argument('--grid-size', type=int, default=64, help='images in grid.png')
    edit = parser.add_argument_group('editing')
    edit.add_argument('--image', help='image to edit; scaled to cover the model size and '
                      'center-cropped')
    kept = edit.add_mutually_exclusive_group()
    kept.add_argument('--keep-box', help='x0,y0,x1,y1 in pixels of --image (x1, y1 exclusive): '
                      'kept; everything else is generated')
    kept.add_argument('--mask', help='PNG of the size of --image: white is kept, black generated')
    parser.add_argument('--device', help='default: cuda when available, else cpu')
    parser.add_argument('--amp-dtype', choices=AMP_DTYPES, default='none',
                        help='autocast the networks (a GPU speed-up); the vocabulary softmax '
                        'stays fp32. The released numbers were sampled in fp32')
    parser.add_argument('--launcher', choices=('none', 'pytorch', 'slurm', 'mpi'),
                        default='none')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, e.g. model.tokenizer.checkpoint=PATH')
    args = parser.parse_args(argv)
    if args.classes is not None:
        if args.per_class is None or args.num_images is not None:
            parser.error('--classes takes --per-class N (images per class), not --num-images')
        try:
            args.classes = sorted({int(c) for c in args.classes.split(',')})
        except ValueError:
            parser.error(f'--classes takes comma-separated integers, e.g. 0,3,7; got '
                         f'{args.classes!r}')
        args.num_images = args.per_class
    elif args.num_images is None:
        parser.error('give --num-images N, or --classes with --per-class N')
    elif args.per_class is not None:
        parser.error('--per-class needs --classes')
    if args.num_images < 1 or args.batch_size < 1:
        parser.error('--num-images, --per-class and --batch-size must be positive')
    if args.image is None and (args.keep_box or args.mask):
        parser.error('--keep-box and --mask need --image')
    if args.image is not None and not (args.keep_box or args.mask):
        parser.error('--image needs --keep-box or --mask to say what to keep')
    return args


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for chunk in iter(lambda: file.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _settings(args: argparse.Namespace, cfg: Config, image_size, device: str,
              class_label: Optional[int] = None) -> Dict:
    """``sample``: everything the images depend on; ``run``: how this run made them."""
    edit = None
    if args.image:
        edit = dict(image=osp.realpath(args.image), image_sha256=_file_sha256(args.image),
                    keep_box=args.keep_box and list(parse_keep_box(args.keep_box)),
                    mask=args.mask and osp.realpath(args.mask),
                    mask_sha256=args.mask and _file_sha256(args.mask))
    model_cfg = ADDP.inference_config(cfg.model.to_dict())
    sample = dict(model=model_cfg, checkpoint=osp.realpath(args.checkpoint), seed=args.seed,
                  num_steps=args.num_steps, schedule=args.schedule,
                  choice_temperature=args.choice_temperature,
                  temperature_strategy=args.temperature_strategy, sampling=args.sampling,
                  top_p=args.top_p, image_size=list(image_size), edit=edit,
                  amp_dtype=args.amp_dtype)
    if class_label is not None:  # absent otherwise, so unconditional folders stay resumable
        sample.update(class_label=class_label, cfg_scale=args.cfg_scale,
                      cfg_schedule=args.cfg_schedule)
    run = dict(num_images=args.num_images, batch_size=args.batch_size, device=device,
               world_size=get_dist_info()[1], addp=__version__, torch=torch.__version__,
               python=platform.python_version())
    return dict(sample=sample, run=run)


def generate(args: argparse.Namespace) -> Dict:
    """Builds the model and samples into ``args.out``."""
    device = args.device or (f'cuda:{torch.cuda.current_device()}'
                             if torch.cuda.is_available() else 'cpu')
    sampler = ADDPSampler(num_steps=args.num_steps, schedule=args.schedule,
                          choice_temperature=args.choice_temperature,
                          temperature_strategy=args.temperature_strategy,
                          sampling=args.sampling, top_p=args.top_p,
                          cfg_scale=args.cfg_scale, cfg_schedule=args.cfg_schedule)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    # Everything that can fail is checked before the first file is written.
    model = build_sampling_model(cfg, args.checkpoint, device=device)
    image_size = sampling_image_size(model)
    sampler.check_labels(model, None if args.classes is None else torch.tensor(args.classes))
    if args.image:
        box = parse_keep_box(args.keep_box) if args.keep_box else None
        canvas = edit_canvas(model.tokenizer, args.image, image_size, keep_box=box,
                             mask_path=args.mask, device=device)
    else:
        canvas = blank_canvas(model.neck.num_patches, image_size, device)
    folders = ([(args.out, None)] if args.classes is None else
               [(osp.join(args.out, str(c)), c) for c in args.classes])
    summaries = {}
    for out_dir, class_label in folders:
        with autocast_context(device, args.amp_dtype):
            summary = sample_to_folder(
                model, sampler, canvas, out_dir, args.num_images, args.batch_size, args.seed,
                _settings(args, cfg, image_size, device, class_label), args.grid_size,
                class_label)
        if get_dist_info()[0] == 0:
            speed = summary['generated'] / max(summary['seconds'], 1e-9)
            print(f'{summary["generated"]} images written, {summary["skipped"]} already there, '
                  f'in {summary["seconds"]:.1f} s ({speed:.2f} images/s on rank 0); '
                  f'images in {osp.join(out_dir, "images")}, grid {summary["grid"]}')
        summaries[class_label] = summary
    return summaries[None] if args.classes is None else summaries


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    with launcher_dist(args.launcher):
        return generate(args)


if __name__ == '__main__':
    run_tool(main)
