"""Measures the digits demo with a judge that ADDP does not contain, and writes its report.

    python projects/digits_study/tools/report.py WORK_DIR [--data data/digits] [--seeds 0 1 2]

Reads what tools/run_demo.sh leaves in WORK_DIR (the stages' work dirs, samples/ from the
trained model, samples_untrained/ and untrained/ for the floor, stage_times.tsv) and writes
WORK_DIR/report.json, report.md, digits.png (samples beside real test digits) and
loss_curves.png. It also fine-tunes and linear-probes the encoder, pretrained and from random
initialisation, once per seed.
"""
import argparse
import copy
import glob
import json
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from PIL import Image

from addp.datasets import downsample_to_digit, load_digits_split
from addp.fileio import write_atomically, write_text_atomically
from addp.image_io import pil_to_tensor, save_json
from addp.metrics import mean_image_psnr, psnr
from addp.registry import MODELS

from . import DEMO_CONFIGS
from .judge import DigitsJudge

ADDP_CONFIG = osp.join(DEMO_CONFIGS, 'addp_tiny_digits.py')
FINETUNE_CONFIG = osp.join(DEMO_CONFIGS, 'finetune_tiny_digits.py')
LINPROBE_CONFIG = osp.join(DEMO_CONFIGS, 'linprobe_tiny_digits.py')
STAGES = ('tokenizer', 'token_predictor', 'addp')
# What 600 ADDP iterations cannot show, and where it is measured.
DEMO_LIMIT = ('The demo is too short to show pretraining ahead of random initialisation (at 600 '
              'iterations the sign follows the run\'s random draws); '
              '`bash projects/digits_study/tools/run_study.sh` trains 15 times longer and '
              'measures it.')


def read_pngs(paths: Sequence[str]) -> List[Image.Image]:
    return [Image.open(p).convert('RGB') for p in paths]


def split_paths(data_root: str, split: str) -> List[str]:
    with open(osp.join(data_root, 'meta', f'{split}.txt')) as f:
        return [osp.join(data_root, split, line.split()[0]) for line in f if line.strip()]


def sample_paths(folder: str) -> List[str]:
    paths = sorted(glob.glob(osp.join(folder, 'images', '*.png')))
    if not paths:
        raise FileNotFoundError(f'no samples in {folder}/images; run tools/run_demo.sh first')
    return paths


def on_digit_grid(images: Sequence[Image.Image]) -> np.ndarray:
    return np.stack([downsample_to_digit(image) for image in images])


@torch.no_grad()
def tokenizer_psnr(tokenizer_checkpoint: str, images: Sequence[Image.Image]) -> float:
    """Mean reconstruction PSNR (dB) of the digits tokenizer from ``tokenizer_checkpoint``."""
    cfg = Config.fromfile(ADDP_CONFIG)
    tokenizer = MODELS.build(dict(cfg.model.tokenizer, checkpoint=tokenizer_checkpoint))
    pixels = torch.cat([pil_to_tensor(image) for image in images])
    _, latent = tokenizer.encode(pixels)
    return float(psnr(tokenizer.decode(latent), pixels).mean())


def classify(config: Union[str, Config], work_dir: str, seed: int, pretrained: Optional[str],
             ann_file: Optional[str] = None) -> float:
    """Trains one classifier run with MMEngine and returns its test top-1 (%)."""
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    cfg.work_dir = work_dir
    cfg.experiment_name = osp.basename(work_dir)
    cfg.randomness = dict(seed=seed, diff_rank_seed=True)
    # The config's init_cfg keeps its other keys (an mmpretrain ViT's checkpoint prefix).
    cfg.model.backbone.init_cfg = (dict(cfg.model.backbone.init_cfg or dict(type='Pretrained'),
                                        checkpoint=pretrained) if pretrained else None)
    cfg.log_level = 'WARNING'
    if ann_file:
        cfg.train_dataloader.dataset.ann_file = ann_file
    runner = Runner.from_cfg(cfg)
    runner.train()
    return float(runner.test()['accuracy/top1'])


def representation(work_dir: str, pretrained: str, seeds: Sequence[int]) -> Dict:
    """Few-label fine-tuning and linear probing, pretrained vs random init, per seed."""
    results = {}
    for setting, config in (('finetune_10_per_class', FINETUNE_CONFIG),
                            ('linear_probe', LINPROBE_CONFIG)):
        results[setting] = {}
        for init, weights in (('pretrained', pretrained), ('random_init', None)):
            runs = []
            for seed in seeds:
                ann_file = (f'meta/train_10shot_seed{seed}.txt'
                            if setting == 'finetune_10_per_class' else None)
                run_dir = osp.join(work_dir, 'classify', f'{setting}_{init}_seed{seed}')
                runs.append(classify(config, run_dir, seed, weights, ann_file))
            results[setting][init] = dict(mean=float(np.mean(runs)), std=float(np.std(runs)),
                                          runs=runs)
    return results


def read_losses(stage_dir: str) -> Dict[str, list]:
    """(step, loss) of the newest run in an MMEngine work dir, from its scalars.json."""
    files = sorted(glob.glob(osp.join(stage_dir, '*', 'vis_data', 'scalars.json')))
    steps, losses = [], []
    if files:
        with open(files[-1]) as f:
            for line in f:
                entry = json.loads(line)
                if 'loss' in entry:
                    steps.append(entry['step'])
                    losses.append(entry['loss'])
    return dict(step=steps, loss=losses)


def save_figure(figure, path: str) -> None:
    write_atomically(path, lambda tmp: figure.savefig(tmp, format='png', dpi=110,
                                                      bbox_inches='tight'))


def tile(images: Sequence[Image.Image], columns: int = 10) -> np.ndarray:
    arrays = [np.asarray(i.convert('L')) for i in images]
    rows = [np.concatenate(arrays[i:i + columns], axis=1) for i in range(0, len(arrays), columns)]
    return np.concatenate([r for r in rows if r.shape == rows[0].shape], axis=0)


def draw_pictures(out_dir: str, panels: Dict[str, Sequence[Image.Image]],
                  curves: Dict[str, Dict[str, list]]) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 5.4))
    for axis, (title, images) in zip(axes, panels.items()):
        axis.imshow(tile(images[:100]), cmap='gray', vmin=0, vmax=255)
        axis.set_title(title)
        axis.axis('off')
    save_figure(figure, osp.join(out_dir, 'digits.png'))
    figure, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.6))
    for axis, (stage, curve) in zip(axes, curves.items()):
        axis.plot(curve['step'], curve['loss'])
        axis.set_title(f'{stage} training loss')
        axis.set_xlabel('iteration')
    save_figure(figure, osp.join(out_dir, 'loss_curves.png'))
    plt.close('all')


def read_stage_times(work_dir: str) -> Dict[str, float]:
    path = osp.join(work_dir, 'stage_times.tsv')
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        return {name: float(seconds) for name, seconds in (line.split() for line in f if line)}


def check_targets(generation: Dict, rep: Dict) -> Dict[str, bool]:
    """The demo's targets; a pretrained mean must beat random init by both spreads summed."""
    samples = generation['addp']
    targets = dict(digit_is_at_least_8=samples['digit_is'] >= 8.,
                   confident_at_least_80_percent=samples['confident'] >= 0.8,
                   all_10_classes=samples['classes_present'] == 10)
    for setting, runs in rep.items():
        gap = runs['pretrained']['mean'] - runs['random_init']['mean']
        spread = runs['pretrained']['std'] + runs['random_init']['std']
        targets[f'{setting}_pretrained_beats_random'] = gap > spread
    return targets


def markdown(report: Dict) -> str:
    judge, gen, rep = report['judge'], report['generation'], report['representation']
    lines = ['# Digits demo report', '',
             f'Judge: {judge["classifier"]}, fitted on the {judge["train_size"]} real train '
             f'digits; test accuracy {100 * judge["test_accuracy"]:.2f}%.', '',
             f'## Generation ({gen["num_samples"]} samples per row)', '',
             '| images | digit-IS (max 10) | confident (p >= 0.9) | classes | Frechet (8x8 px) '
             '| near-copies | class histogram |', '|---|---|---|---|---|---|---|']
    for name, title in (('real_test', 'real test digits (ceiling)'), ('addp', 'ADDP samples'),
                        ('untrained', 'untrained pipeline (floor)')):
        s = gen[name]
        lines.append(f'| {title} | {s["digit_is"]:.2f} | {100 * s["confident"]:.1f}% | '
                     f'{s["classes_present"]} | {s["frechet_distance"]:.2f} | '
                     f'{100 * s["near_copies"]:.1f}% | {s["class_histogram"]} |')
    psnr_db = report['tokenizer_psnr_db']
    lines += ['', f'Tokenizer reconstruction PSNR on the test split: {psnr_db["trained"]:.2f} dB '
              f'trained, {psnr_db["untrained"]:.2f} dB untrained, {psnr_db["mean_image"]:.2f} dB '
              'for the mean test image.', '',
              f'## Representation (test top-1 %, mean ± std over seeds {report["seeds"]})', '',
              '| setting | pretrained (ADDP) | random init |', '|---|---|---|']
    for setting, runs in rep.items():
        cells = [f'{runs[k]["mean"]:.2f} ± {runs[k]["std"]:.2f}'
                 for k in ('pretrained', 'random_init')]
        lines.append(f'| {setting.replace("_", " ")} | {cells[0]} | {cells[1]} |')
    lines += ['', '## Targets', ''] + [f'- {k.replace("_", " ")}: {"met" if v else "MISSED"}'
                                       for k, v in report['targets'].items()]
    lines += ['', DEMO_LIMIT]
    lines += ['', '## Stage times (s)', '', '| stage | seconds |', '|---|---|'] + [
        f'| {k} | {v:.0f} |' for k, v in report['stage_seconds'].items()]
    return '\n'.join(lines) + '\n'


def main(argv=None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir', help='the demo work dir (tools/run_demo.sh)')
    parser.add_argument('--data', default='data/digits',
                        help='tools/prepare_bundled_data.py output')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--split-seed', type=int, default=0, help='seed of the data split')
    args = parser.parse_args(argv)
    start = time.perf_counter()
    init_default_scope('addp')
    train_x, test_x, train_y, test_y = load_digits_split(seed=args.split_seed)
    judge = DigitsJudge(train_x, train_y, test_x)
    samples = read_pngs(sample_paths(osp.join(args.work_dir, 'samples')))
    floor = read_pngs(sample_paths(osp.join(args.work_dir, 'samples_untrained')))
    test_images = read_pngs(split_paths(args.data, 'test'))
    generation = dict(num_samples=len(samples),
                      addp=judge.score(on_digit_grid(samples)),
                      real_test=judge.score(on_digit_grid(test_images)),
                      untrained=judge.score(on_digit_grid(floor)))
    psnr_db = dict(trained=tokenizer_psnr(osp.join(args.work_dir, 'tokenizer.ckpt'), test_images),
                   untrained=tokenizer_psnr(
                       osp.join(args.work_dir, 'untrained', 'tokenizer.ckpt'), test_images),
                   mean_image=float(mean_image_psnr(
                       torch.cat([pil_to_tensor(image) for image in test_images]))))
    rep = representation(args.work_dir, osp.join(args.work_dir, 'addp.pth'), args.seeds)
    stage_seconds = read_stage_times(args.work_dir)
    stage_seconds['evaluation'] = time.perf_counter() - start
    report = dict(
        judge=dict(classifier=DigitsJudge.description, train_size=len(train_x),
                   test_accuracy=judge.accuracy(test_x, test_y)),
        generation=generation, tokenizer_psnr_db=psnr_db, representation=rep, seeds=args.seeds,
        targets=check_targets(generation, rep), stage_seconds=stage_seconds)
    curves = {stage: read_losses(osp.join(args.work_dir, stage)) for stage in STAGES}
    draw_pictures(args.work_dir, {'untrained pipeline (floor)': floor, 'ADDP samples': samples,
                                  'real test digits': test_images}, curves)
    save_json(report, osp.join(args.work_dir, 'report.json'))
    text = markdown(report)
    write_text_atomically(osp.join(args.work_dir, 'report.md'), text)
    print(text)
    return report

