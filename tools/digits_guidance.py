"""Class-conditional digits: does the judge see the class asked for, at which guidance scale?

    python tools/digits_guidance.py WORK_DIR [--data data/digits] [--iters 3000]
        [--scales 0 1 2 3 5] [--seeds 0 1 2]

Reads what ``tools/run_study.sh --guidance`` trained: the class-conditional ADDP
(``WORK_DIR/addp/iter_N.pth``) and its class-conditional token predictor, whose own
MaskGIT-style samples are the baseline. At each guidance scale (constant schedule) and seed,
each model draws ``PER_CLASS`` samples of every digit; the project's judge
(tools/digits_report.py) scores them: class agreement (the share it labels as the class asked
for, overall and per class), digit-IS, the share judged confident, the Frechet distance and the
near-copies. Scale 0 drops the label: the same model's unconditional samples. Every
measurement is cached in WORK_DIR/guidance_cache/.
Writes WORK_DIR/guidance.json, guidance.md and guidance.png (one row per digit, ADDP at the
scale with the highest agreement).
"""
import argparse
import os.path as osp
import time
from typing import Callable, Dict, List

import numpy as np
from digits_report import on_digit_grid, read_stage_times, save_figure, tile
from digits_study import (
    IMAGE_SIZE,
    SAMPLING_STEPS,
    blank_digits_canvas,
    cached,
    cell,
    summarise,
)
from mmengine.registry import init_default_scope
from PIL import Image

from addp.apis import (
    build_sampling_model,
    build_token_predictor_sampling_model,
    sample_images,
)
from addp.checkpoint import allow_mmengine_checkpoint_globals
from addp.cli import run_tool
from addp.datasets import load_digits_split
from addp.evaluation.digits_judge import NUM_CLASSES, DigitsJudge, digit_inception_score
from addp.fileio import write_text_atomically
from addp.image_io import save_json, to_uint8
from addp.models.generation import ADDPSampler

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'digits', 'addp_tiny_digits_cond.py')
PER_CLASS = 20
SCORES = ('agreement', 'digit_is', 'confident', 'frechet_distance', 'near_copies')
MODELS_MEASURED = (('addp', 'ADDP'), ('mage', 'MAGE token predictor'))


def sample_classes(model, scale: float, seed: int) -> List[Image.Image]:
    """``PER_CLASS`` guided samples of each digit, class by class, with the demo's recipe."""
    sampler = ADDPSampler(num_steps=SAMPLING_STEPS, cfg_scale=scale)
    canvas = blank_digits_canvas(model)
    images = []
    for digit in range(NUM_CLASSES):
        state = sample_images(model, sampler, canvas, range(PER_CLASS), seed, class_label=digit)
        images += [Image.fromarray(image) for image in to_uint8(state.pixels)]
    return images


def score_classes(judge: DigitsJudge, images: List[Image.Image]) -> Dict:
    """The judge's scores of class-ordered samples, with the agreement overall and per class,
    and each class's digit-IS (1 when the judge gives all of a class's samples one label,
    confidently; higher when they spread over labels)."""
    digits = on_digit_grid(images)
    asked = np.repeat(np.arange(NUM_CLASSES), PER_CLASS)
    probs = judge.probabilities(digits)
    agrees = probs.argmax(1) == asked
    return dict(judge.score(digits), agreement=float(agrees.mean()),
                agreement_per_class=agrees.reshape(NUM_CLASSES, PER_CLASS).mean(1).tolist(),
                digit_is_per_class=[digit_inception_score(probs[asked == d])
                                    for d in range(NUM_CLASSES)])


class GuidanceStudy:
    """The measurements of one guidance work dir, each cached."""

    def __init__(self, work_dir: str, iters: int, seeds: List[int]) -> None:
        self.work_dir, self.seeds, self.cache = work_dir, seeds, osp.join(work_dir,
                                                                          'guidance_cache')
        train_x, test_x, train_y, _ = load_digits_split()
        self.judge = DigitsJudge(train_x, train_y, test_x)
        frozen = {'model.tokenizer.checkpoint': osp.join(work_dir, 'tokenizer.ckpt'),
                  'model.token_predictor.checkpoint': osp.join(work_dir, 'token_predictor.pth')}
        checkpoint = osp.join(work_dir, 'addp', f'iter_{iters}.pth')
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'{checkpoint} is missing; run tools/run_study.sh '
                                    '--guidance first')
        self.builders: Dict[str, Callable] = {
            'addp': lambda: build_sampling_model(CONFIG, checkpoint, cfg_options=frozen),
            'mage': lambda: build_token_predictor_sampling_model(CONFIG, frozen)}
        self.models: Dict = {}

    def model(self, name: str):
        if name not in self.models:
            self.models[name] = self.builders[name]()
        return self.models[name]

    def measure(self, name: str, scale: float) -> Dict:
        """Scores over the seeds, mean ± std, with per-class agreement averaged."""
        runs = [cached(self.cache, f'{name}_w{scale:g}_seed{seed}',
                       lambda seed=seed: score_classes(
                           self.judge, sample_classes(self.model(name), scale, seed)))
                for seed in self.seeds]
        result = {key: summarise([run[key] for run in runs]) for key in SCORES}
        for key in ('agreement_per_class', 'digit_is_per_class'):
            result[key] = np.mean([run[key] for run in runs], 0).tolist()
        result['class_histogram'] = np.sum([run['class_histogram'] for run in runs], 0).tolist()
        return result


def main(argv=None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir', help='the guidance work dir (tools/run_study.sh --guidance)')
    parser.add_argument('--iters', type=int, default=3000, help='the ADDP checkpoint to read')
    parser.add_argument('--scales', type=float, nargs='+', default=[0., 1., 2., 3., 5.])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    args = parser.parse_args(argv)
    start = time.perf_counter()
    init_default_scope('addp')
    allow_mmengine_checkpoint_globals()
    study = GuidanceStudy(args.work_dir, args.iters, args.seeds)
    report = dict(iters=args.iters, seeds=args.seeds, per_class=PER_CLASS,
                  steps=SAMPLING_STEPS, judge=DigitsJudge.description, scales=args.scales)
    for name, _ in MODELS_MEASURED:
        report[name] = {f'{scale:g}': study.measure(name, scale) for scale in args.scales}
        print(f'[guidance] {name} measured ({time.perf_counter() - start:.0f} s)', flush=True)
    best = max(args.scales, key=lambda s: (report['addp'][f'{s:g}']['agreement']['mean'], -s))
    report['best_scale'] = best
    report['stage_seconds'] = dict(read_stage_times(args.work_dir),
                                   evaluation=time.perf_counter() - start)
    save_json(report, osp.join(args.work_dir, 'guidance.json'))
    text = markdown(report)
    write_text_atomically(osp.join(args.work_dir, 'guidance.md'), text)
    draw_rows(sample_classes(study.model('addp'), best, args.seeds[0]),
              f'ADDP, class-conditional, guidance scale {best:g}',
              osp.join(args.work_dir, 'guidance.png'))
    print(text)
    return report


def markdown(report: Dict) -> str:
    lines = ['# Class-conditional digits: guidance scales', '',
             f'{report["per_class"]} samples per digit and seed ({report["steps"]} steps), '
             f'seeds {report["seeds"]}; ADDP after {report["iters"]} iterations. Judge: '
             f'{report["judge"]}. Scale 0 drops the label (unconditional).', '',
             '| model | scale | class agreement | digit-IS | confident | Frechet (8x8 px) | '
             'near-copies | agreement per digit 0-9 (%) | digit-IS within each digit 0-9 |',
             '|---|---|---|---|---|---|---|---|---|']
    for name, title in MODELS_MEASURED:
        for scale, r in report[name].items():
            per_class = ' '.join(f'{100 * a:.0f}' for a in r['agreement_per_class'])
            within = ' '.join(f'{v:.2f}' for v in r['digit_is_per_class'])
            lines.append(f'| {title} | {scale} | {cell(r["agreement"], 100, 1)}% | '
                         f'{cell(r["digit_is"])} | {cell(r["confident"], 100, 1)}% | '
                         f'{cell(r["frechet_distance"])} | {cell(r["near_copies"], 100, 1)}% | '
                         f'{per_class} | {within} |')
    lines += ['', f'Best scale for ADDP (highest agreement): {report["best_scale"]:g}', '',
              '## Stage times (s)', '', '| stage | seconds |', '|---|---|'] + [
        f'| {k} | {v:.0f} |' for k, v in report['stage_seconds'].items()]
    return '\n'.join(lines) + '\n'


def draw_rows(images: List[Image.Image], title: str, path: str) -> None:
    """One row per digit: the first 10 samples of each class."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [images[d * PER_CLASS:d * PER_CLASS + 10] for d in range(NUM_CLASSES)]
    figure, axis = plt.subplots(figsize=(5, 5.4))
    axis.imshow(tile([image for row in rows for image in row], columns=10), cmap='gray',
                vmin=0, vmax=255)
    axis.set_title(title, fontsize=9)
    axis.set_yticks([IMAGE_SIZE * (d + .5) for d in range(NUM_CLASSES)],
                    [f'asked {d}' for d in range(NUM_CLASSES)], fontsize=7)
    axis.set_xticks([])
    save_figure(figure, path)
    plt.close(figure)


if __name__ == '__main__':
    run_tool(main)
