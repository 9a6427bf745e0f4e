"""Class-conditional digits: does the judge see the class asked for, at which guidance scale?

    python projects/digits_study/tools/guidance.py WORK_DIR [--iters 3000] [--scales 0 1 2 3 5]
        [--seeds 0 1 2] [--update-doc projects/digits_study/README.md]

Reads what ``projects/digits_study/tools/run_study.sh --guidance`` trained: the
class-conditional ADDP (``WORK_DIR/addp/iter_N.pth``) and its class-conditional token predictor,
whose own
MaskGIT-style samples are the baseline. At each guidance scale (constant schedule) and seed,
each model draws ``PER_CLASS`` samples of every digit; the project's judge
(:mod:`.judge`, fitted on the train split) scores them: class agreement (the share it
labels as the class asked for, overall and per class), digit-IS, the share judged confident, the
Frechet distance and the near-copies. Scale 0 drops the label: the same model's unconditional
samples.

ADDP's scale is chosen on validation draws, other seeds than the reported ones (each seed plus
``VALIDATION_SEED_OFFSET``), by the highest class agreement; the report gives the test draws
(``--seeds``) at every scale, with the chosen one marked, so that the choice does not flatter
the numbers reported. Every measurement is cached in WORK_DIR/guidance_cache/ with the key of
what produced it (config, checkpoints, iterations, constants, scale, seed).
Writes WORK_DIR/guidance.json, guidance.md and guidance.png (one row per digit, ADDP at the
chosen scale); ``--update-doc projects/digits_study/README.md`` also rewrites that page's
table between its ``digits_guidance`` markers from that JSON, and keeps the JSON beside it in
results/digits_guidance.json.
"""
import argparse
import os.path as osp
import time
from functools import cached_property
from typing import Callable, Dict, List, Sequence

import numpy as np
from mmengine.registry import init_default_scope
from PIL import Image

from addp.apis import (
    build_sampling_model,
    build_token_predictor_sampling_model,
    sample_images,
)
from addp.checkpoint import allow_mmengine_checkpoint_globals
from addp.datasets import load_digits_split
from addp.errors import InvalidInputError
from addp.fileio import write_text_atomically
from addp.image_io import save_json, to_uint8
from addp.measurement_cache import cached, config_part, file_part, resolved_config
from addp.models.sampling import ADDPSampler

from . import STUDY_CONFIGS
from .doc_tables import marked_text, publish_to_doc
from .judge import NUM_CLASSES, DigitsJudge, digit_inception_score
from .report import (
    on_digit_grid,
    read_stage_times,
    save_figure,
    tile,
)
from .study import IMAGE_SIZE, SAMPLING_STEPS, blank_digits_canvas, summarise
from .study_tables import cell

TOOL = 'digits_guidance'
CONFIG = osp.join(STUDY_CONFIGS, 'addp_tiny_digits_cond.py')
PER_CLASS = 20
SCORES = ('agreement', 'digit_is', 'confident', 'frechet_distance', 'near_copies')
MODELS_MEASURED = (('addp', 'ADDP'), ('mage', 'MAGE token predictor'))
# The validation draws that choose ADDP's scale: the reported seeds moved by this offset.
VALIDATION_SEED_OFFSET = 100


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
    """The measurements of one guidance work dir, each cached with the key of what produced it.

    Args:
        work_dir (str): The guidance work dir (projects/digits_study/tools/run_study.sh --guidance).
        iters (int): The iteration of the ADDP checkpoint to read.
    """

    def __init__(self, work_dir: str, iters: int) -> None:
        self.work_dir, self.iters = work_dir, iters
        self.cache = osp.join(work_dir, 'guidance_cache')
        self.frozen = {'model.tokenizer.checkpoint': osp.join(work_dir, 'tokenizer.ckpt'),
                       'model.token_predictor.checkpoint':
                       osp.join(work_dir, 'token_predictor.pth')}
        self.checkpoint = osp.join(work_dir, 'addp', f'iter_{iters}.pth')
        if not osp.isfile(self.checkpoint):
            raise FileNotFoundError(f'{self.checkpoint} is missing; run '
                                    'projects/digits_study/tools/run_study.sh --guidance first')
        self.builders: Dict[str, Callable] = {
            'addp': lambda: build_sampling_model(CONFIG, self.checkpoint,
                                                 cfg_options=self.frozen),
            'mage': lambda: build_token_predictor_sampling_model(CONFIG, self.frozen)}
        self.models: Dict = {}

    @cached_property
    def judge(self) -> DigitsJudge:
        train_x, test_x, train_y, _ = load_digits_split()
        return DigitsJudge(train_x, train_y, test_x)

    def model(self, name: str):
        if name not in self.models:
            self.models[name] = self.builders[name]()
        return self.models[name]

    @cached_property
    def sampling_config(self) -> Dict:
        """The sampling config with the frozen parts, as a key part."""
        return config_part(resolved_config(CONFIG, self.frozen))

    def key(self, name: str, scale: float, seed: int) -> Dict:
        """What one draw of ``name`` at ``scale`` and ``seed`` depends on."""
        key = {'sampling config': self.sampling_config,
               'tokenizer': file_part(self.frozen['model.tokenizer.checkpoint']),
               'token predictor': file_part(self.frozen['model.token_predictor.checkpoint']),
               'PER_CLASS': PER_CLASS, 'SAMPLING_STEPS': SAMPLING_STEPS,
               'judge': DigitsJudge.description, 'scale': scale, 'seed': seed}
        if name == 'addp':  # the token predictor's own samples do not read ADDP's checkpoint
            key.update(iters=self.iters, checkpoint=file_part(self.checkpoint))
        return key

    def measure(self, name: str, scale: float, seeds: Sequence[int]) -> Dict:
        """Scores over the draws of ``seeds``, mean ± std, with per-class agreement averaged."""
        runs = [cached(osp.join(self.cache, f'{name}_w{scale:g}_seed{seed}.json'),
                       self.key(name, scale, seed),
                       lambda seed=seed: score_classes(
                           self.judge, sample_classes(self.model(name), scale, seed)),
                       prefix='[guidance]')
                for seed in seeds]
        result = {key: summarise([run[key] for run in runs]) for key in SCORES}
        for key in ('agreement_per_class', 'digit_is_per_class'):
            result[key] = np.mean([run[key] for run in runs], 0).tolist()
        result['class_histogram'] = np.sum([run['class_histogram'] for run in runs], 0).tolist()
        return result


def validation_seeds(seeds: Sequence[int]) -> List[int]:
    """The seeds of the draws that choose the scale, none of them a reported one."""
    return [seed + VALIDATION_SEED_OFFSET for seed in seeds]


def choose_scale(agreement: Dict[str, Dict]) -> float:
    """The scale with the highest mean class agreement, the smaller on a tie.

    Args:
        agreement (dict): Per scale (as ``f'{scale:g}'``), the agreement's summary on the
            validation draws.
    """
    return float(max(agreement, key=lambda s: (agreement[s]['mean'], -float(s))))


def main(argv=None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir', help='the guidance work dir '
                        '(projects/digits_study/tools/run_study.sh --guidance)')
    parser.add_argument('--iters', type=int, default=3000, help='the ADDP checkpoint to read')
    parser.add_argument('--scales', type=float, nargs='+', default=[0., 1., 2., 3., 5.])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2],
                        help='the reported (test) draws; the validation draws that choose '
                        f'the scale are these plus {VALIDATION_SEED_OFFSET}')
    parser.add_argument('--update-doc', metavar='DOC',
                        help=f'also rewrite the table between the {TOOL} markers of DOC (the '
                        'study page) from the JSON written, and keep the JSON in results/')
    args = parser.parse_args(argv)
    if set(validation_seeds(args.seeds)) & set(args.seeds):
        raise InvalidInputError(f'--seeds {" ".join(map(str, args.seeds))} include validation '
                                f'seeds (each seed plus {VALIDATION_SEED_OFFSET}); give seeds '
                                f'that differ by less than {VALIDATION_SEED_OFFSET}')
    if args.update_doc:
        marked_text(args.update_doc, TOOL)  # a document without markers stops before measuring
    start = time.perf_counter()
    init_default_scope('addp')
    allow_mmengine_checkpoint_globals()
    study = GuidanceStudy(args.work_dir, args.iters)
    report = dict(iters=args.iters, seeds=args.seeds,
                  validation_seeds=validation_seeds(args.seeds), per_class=PER_CLASS,
                  steps=SAMPLING_STEPS, judge=DigitsJudge.description, scales=args.scales)
    validation = {f'{scale:g}': study.measure('addp', scale, report['validation_seeds'])
                  for scale in args.scales}
    report['validation_agreement'] = {scale: r['agreement'] for scale, r in validation.items()}
    report['chosen_scale'] = chosen = choose_scale(report['validation_agreement'])
    print(f'[guidance] scale {chosen:g} chosen on the validation draws '
          f'({time.perf_counter() - start:.0f} s)', flush=True)
    for name, _ in MODELS_MEASURED:
        report[name] = {f'{scale:g}': study.measure(name, scale, args.seeds)
                        for scale in args.scales}
        print(f'[guidance] {name} measured ({time.perf_counter() - start:.0f} s)', flush=True)
    report['stage_seconds'] = dict(read_stage_times(args.work_dir),
                                   evaluation=time.perf_counter() - start)
    save_json(report, osp.join(args.work_dir, 'guidance.json'))
    text = markdown(report)
    write_text_atomically(osp.join(args.work_dir, 'guidance.md'), text)
    draw_rows(sample_classes(study.model('addp'), chosen, args.seeds[0]),
              f'ADDP, class-conditional, guidance scale {chosen:g}',
              osp.join(args.work_dir, 'guidance.png'))
    if args.update_doc:
        publish_to_doc(args.update_doc, TOOL, report, doc_tables(report))
    print(text)
    return report


def _seeds(seeds: Sequence[int]) -> str:
    return ', '.join(str(seed) for seed in seeds)


def _scale_keys(report: Dict) -> List[str]:
    """The report's scales in the order measured (its JSON keeps dicts sorted as text)."""
    return [f'{scale:g}' for scale in report['scales']]


def _scale_label(scale: str, report: Dict, name: str) -> str:
    """The scale as the tables show it: 0 drops the label; ADDP's chosen scale is marked."""
    label = f'{scale} (label dropped)' if float(scale) == 0 else scale
    if name == 'addp' and float(scale) == report['chosen_scale']:
        label = f'**{label} (chosen)**'
    return label


def doc_tables(report: Dict) -> str:
    """The table of the test draws at every scale, as the README shows it, saying which draws
    chose ADDP's scale."""
    validation = ', '.join(f'{scale}: {100 * report["validation_agreement"][scale]["mean"]:.1f}%'
                           for scale in _scale_keys(report))
    lines = [f'Test draws (seeds {_seeds(report["seeds"])}), {report["per_class"]} samples of '
             f'each digit per seed, {report["steps"]} steps; ADDP after {report["iters"]} '
             "iterations. ADDP's scale is chosen by the highest class agreement on separate "
             f'validation draws (seeds {_seeds(report["validation_seeds"])}), not on the '
             'draws below.', '',
             '| samples | scale | class agreement | digit-IS | judge confident | Fréchet | '
             'near-copies |', '| --- | --- | --- | --- | --- | --- | --- |']
    for name, title in MODELS_MEASURED:
        for scale in _scale_keys(report):
            r = report[name][scale]
            lines.append(f'| {title}, class-conditional | {_scale_label(scale, report, name)} | '
                         f'{cell(r["agreement"], 100, 1)}% | {cell(r["digit_is"])} | '
                         f'{cell(r["confident"], 100, 1)}% | {cell(r["frechet_distance"])} | '
                         f'{cell(r["near_copies"], 100, 1)}% |')
    lines += ['', f"ADDP's class agreement on the validation draws, by scale: {validation}."]
    return '\n'.join(lines) + '\n'


def markdown(report: Dict) -> str:
    """guidance.md: the table, the agreement and digit-IS per digit, and the stage times."""
    lines = ['# Class-conditional digits: guidance scales', '',
             f'Judge: {report["judge"]}, fitted on the train split. Scale 0 drops the label '
             '(unconditional).', '', doc_tables(report).rstrip('\n'), '',
             '## Per digit (test draws)', '',
             '| model | scale | agreement per digit 0-9 (%) | digit-IS within each digit 0-9 |',
             '|---|---|---|---|']
    for name, title in MODELS_MEASURED:
        for scale in _scale_keys(report):
            r = report[name][scale]
            per_class = ' '.join(f'{100 * a:.0f}' for a in r['agreement_per_class'])
            within = ' '.join(f'{v:.2f}' for v in r['digit_is_per_class'])
            lines.append(f'| {title} | {_scale_label(scale, report, name)} | {per_class} | '
                         f'{within} |')
    lines += ['', '## Stage times (s)', '', '| stage | seconds |', '|---|---|'] + [
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

