"""Does ADDP pretraining help? Measures what run_study.sh trained, and writes the study.

    python projects/digits_study/tools/study.py WORK_DIR [--data data/digits]
        [--iters 600 3000 6000 9000] [--seeds 0 1 2] [--update-doc projects/digits_study/README.md]

For each pretraining length (checkpoints ``WORK_DIR/{addp,mae}/iter_N.pth``) and for random
initialisation, on the 360 digits of the test split, over ``--seeds``:
  - fine-tuning with 10 labels per class and with all 1,437 labels (seed: head, drop path,
    data order, and the 10-label draw). Each run trains to its last epoch and reads the test
    split once, after training: no checkpoint or setting is chosen on it.
  - k-NN on frozen features. The block (1-4) and the pooling (class token or patch average)
    are chosen by 5-fold cross-validation on the train split alone. Pretrained encoders are
    deterministic here, so only random initialisation has a spread (one encoder per seed).
  - for ADDP, and for the token predictor's own MaskGIT-style samples (the MAGE baseline),
    samples scored by the project's judge (:mod:`.judge`, fitted on the train split), one
    draw per seed.
Every measurement is cached in WORK_DIR/study_cache/ with the key of what produced it (the
resolved config, the checkpoints' content, the data split lists, the constants and the seed):
a rerun reuses what is unchanged and recomputes the rest, saying why.
Writes WORK_DIR/study.json, study.md and study.png; ``--update-doc
projects/digits_study/README.md`` also rewrites that page's tables between its ``digits_study``
markers from that JSON, and keeps the JSON beside it in results/digits_study.json.
"""
import argparse
import copy
import logging
import os
import os.path as osp
import time
from functools import cached_property
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed
from PIL import Image

from addp.apis import (
    Canvas,
    blank_canvas,
    build_sampling_model,
    build_token_predictor_sampling_model,
    sample_images,
)
from addp.checkpoint import allow_mmengine_checkpoint_globals
from addp.datasets import load_digits_split
from addp.fileio import write_text_atomically
from addp.image_io import imagenet_normalize, pil_to_tensor, save_json, to_uint8
from addp.measurement_cache import cached, config_part, file_part, resolved_config
from addp.models.sampling import ADDPSampler
from addp.registry import MODELS

from . import DEMO_CONFIGS, STUDY_CONFIGS
from .doc_tables import marked_text, publish_to_doc
from .judge import DigitsJudge
from .report import (
    classify,
    on_digit_grid,
    read_pngs,
    read_stage_times,
    save_figure,
    split_paths,
)

TOOL = 'digits_study'
ADDP_CONFIG = osp.join(STUDY_CONFIGS, 'addp_tiny_digits_long.py')
FINETUNE_CONFIGS = {  # (setting, method) -> config; ADDP's configs also serve random init
    ('finetune_10_labels', 'addp'): osp.join(DEMO_CONFIGS, 'finetune_tiny_digits.py'),
    ('finetune_10_labels', 'mae'): osp.join(STUDY_CONFIGS, 'finetune_tiny_digits_mae.py'),
    ('finetune_all_labels', 'addp'): osp.join(STUDY_CONFIGS, 'finetune_tiny_digits_all_labels.py'),
}
SETTINGS = ('finetune_10_labels', 'finetune_all_labels', 'knn')
GENERATION_KEYS = ('digit_is', 'confident', 'frechet_distance', 'near_copies')
NUM_SAMPLES = 200
SAMPLING_STEPS = 16  # as the demo samples
KNN_NEIGHBOURS = 10
KNN_FOLDS = 5
IMAGE_SIZE = Config.fromfile(ADDP_CONFIG).img_size


def finetune_config(setting: str, method: str) -> Config:
    """The fine-tuning config of ``setting`` for the encoder of ``method``."""
    if setting == 'finetune_all_labels' and method == 'mae':
        cfg = Config.fromfile(FINETUNE_CONFIGS[(setting, 'addp')])
        mae = Config.fromfile(FINETUNE_CONFIGS[('finetune_10_labels', 'mae')])
        cfg.model.backbone = mae.model.backbone
        return cfg
    return Config.fromfile(FINETUNE_CONFIGS[(setting, 'addp' if method == 'random' else method)])


def build_encoder(method: str, checkpoint: Optional[str], seed: int) -> torch.nn.Module:
    """The encoder of ``method`` as fine-tuning builds it, every block's tokens out."""
    cfg = finetune_config('finetune_10_labels', method)
    backbone = copy.deepcopy(cfg.model.backbone)
    backbone.update(out_type='raw', out_indices=list(range(backbone.arch.num_layers)),
                    drop_path_rate=0.)
    if checkpoint is None:
        backbone.init_cfg = None
    else:
        backbone.init_cfg.checkpoint = checkpoint
    init_default_scope('addp')
    set_random_seed(seed)
    encoder = MODELS.build(backbone)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # PretrainedInit logs a line per parameter
    encoder.init_weights()
    logger.setLevel(level)
    encoder.eval()  # mmpretrain's ViT.train() returns None: no chaining
    return encoder


@torch.no_grad()
def block_features(encoder: torch.nn.Module, pixels: torch.Tensor) -> Dict[str, np.ndarray]:
    """Class-token and patch-average features of every block, for images (M, 3, H, W) in
    [0, 1], normalised as fine-tuning normalises them."""
    outputs = [encoder(imagenet_normalize(batch)) for batch in pixels.split(256)]
    features = {}
    for block in range(len(outputs[0])):
        tokens = torch.cat([out[block] for out in outputs])
        features[f'block{block + 1}_cls'] = tokens[:, 0].numpy()
        features[f'block{block + 1}_avg'] = tokens[:, 1:].mean(1).numpy()
    return features


def knn_accuracy(encoder: torch.nn.Module, train: torch.Tensor, train_y: np.ndarray,
                 test: torch.Tensor, test_y: np.ndarray) -> Dict:
    """Test top-1 (%) of a cosine k-NN on the feature that ``KNN_FOLDS``-fold cross-validation
    on the train split picks; the test split is read only for the reported accuracy."""
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def knn():
        return make_pipeline(StandardScaler(),
                             KNeighborsClassifier(KNN_NEIGHBOURS, metric='cosine'))

    train_features, test_features = (block_features(encoder, train),
                                     block_features(encoder, test))
    cv = {name: float(cross_val_score(knn(), x, train_y, cv=KNN_FOLDS).mean())
          for name, x in train_features.items()}
    chosen = max(cv, key=cv.get)
    classifier = knn().fit(train_features[chosen], train_y)
    accuracy = 100. * float((classifier.predict(test_features[chosen]) == test_y).mean())
    return dict(top1=accuracy, feature=chosen, train_cv=cv)


def blank_digits_canvas(model) -> Canvas:
    """Every token of a digit masked, at the digits' image size."""
    image_size = (IMAGE_SIZE, IMAGE_SIZE)
    rows, columns = model.tokenizer.grid_size(image_size)
    return blank_canvas(rows * columns, image_size)


def sample_digits(model, seed: int) -> List[Image.Image]:
    """``NUM_SAMPLES`` unconditional samples of ``model`` with the demo's recipe."""
    sampler = ADDPSampler(num_steps=SAMPLING_STEPS)
    canvas = blank_digits_canvas(model)
    images = []
    for start in range(0, NUM_SAMPLES, 100):
        state = sample_images(model, sampler, canvas, range(start, start + 100), seed)
        images += [Image.fromarray(image) for image in to_uint8(state.pixels)]
    return images


def summarise(values: Sequence[float]) -> Dict:
    return dict(mean=float(np.mean(values)), std=float(np.std(values)), runs=list(values))


def checkpoint_part(checkpoint: Optional[str]) -> Optional[Dict]:
    """A checkpoint as a key part; None stands for random initialisation."""
    return None if checkpoint is None else file_part(checkpoint)


class Study:
    """The measurements of one study work dir, each cached with the key of what produced it.

    Args:
        work_dir (str): The study work dir (projects/digits_study/tools/run_study.sh).
        data_root (str): The digits as an image folder (tools/prepare_bundled_data.py).
        seeds (Sequence[int]): The seeds of the fine-tuning runs, encoders and sample draws.
    """

    def __init__(self, work_dir: str, data_root: str, seeds: Sequence[int]) -> None:
        self.work_dir, self.data_root, self.seeds = work_dir, data_root, list(seeds)
        self.cache = osp.join(work_dir, 'study_cache')
        os.makedirs(self.cache, exist_ok=True)
        self.frozen = {'model.tokenizer.checkpoint': osp.join(work_dir, 'tokenizer.ckpt'),
                       'model.token_predictor.checkpoint':
                       osp.join(work_dir, 'token_predictor.pth')}

    @cached_property
    def split(self) -> Dict[str, np.ndarray]:
        """The 8 x 8 digits of the seeded split: the judge's train and test pixels, labels."""
        train_x, test_x, train_y, test_y = load_digits_split()
        return dict(train_x=train_x, test_x=test_x, train_y=train_y, test_y=test_y)

    @cached_property
    def judge(self) -> DigitsJudge:
        return DigitsJudge(self.split['train_x'], self.split['train_y'], self.split['test_x'])

    @cached_property
    def train_images(self) -> List[Image.Image]:
        return read_pngs(split_paths(self.data_root, 'train'))

    @cached_property
    def test_images(self) -> List[Image.Image]:
        return read_pngs(split_paths(self.data_root, 'test'))

    def split_list(self, ann_file: str) -> Dict:
        """A list of the data split under the data root, as a key part."""
        return file_part(osp.join(self.data_root, ann_file))

    def pixels(self, images: Sequence[Image.Image]) -> torch.Tensor:
        return torch.cat([pil_to_tensor(image) for image in images])

    def measured(self, name: str, key: Dict[str, Any], compute: Callable[[], Dict]) -> Dict:
        """``compute()``, or its cached result when the key is unchanged."""
        return cached(osp.join(self.cache, f'{name}.json'), key, compute, prefix='[study]')

    def finetune_cfg(self, setting: str, method: str, seed: int) -> Config:
        """The fine-tuning config of one run, as it trains."""
        cfg = finetune_config(setting, method)
        for split in ('train', 'val', 'test'):
            cfg[f'{split}_dataloader'].dataset.data_root = self.data_root
        if setting == 'finetune_10_labels':  # each seed its own draw of the labelled digits
            cfg.train_dataloader.dataset.ann_file = f'meta/train_10shot_seed{seed}.txt'
        # The test split is read once, after training; no in-training validation looks at it.
        cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
        return cfg

    def finetuned_top1(self, setting: str, method: str, checkpoint: Optional[str], seed: int,
                       tag: str) -> float:
        """Test top-1 (%) of one fine-tuning run from ``checkpoint`` (None: random init)."""
        cfg = self.finetune_cfg(setting, method, seed)
        name = f'{tag}_{setting}_seed{seed}'
        key = {'fine-tune config': config_part(cfg), 'checkpoint': checkpoint_part(checkpoint),
               'seed': seed,
               'train split': self.split_list(cfg.train_dataloader.dataset.ann_file),
               'test split': self.split_list(cfg.test_dataloader.dataset.ann_file)}
        return self.measured(name, key, lambda: dict(top1=classify(
            cfg, osp.join(self.cache, 'runs', name), seed, checkpoint)))['top1']

    def knn(self, method: str, checkpoint: Optional[str], seed: int, tag: str) -> Dict:
        """k-NN on the frozen encoder (:func:`knn_accuracy`)."""
        key = {'encoder config': config_part(finetune_config('finetune_10_labels', method)),
               'checkpoint': checkpoint_part(checkpoint), 'seed': seed,
               'KNN_NEIGHBOURS': KNN_NEIGHBOURS, 'KNN_FOLDS': KNN_FOLDS,
               'train split': self.split_list('meta/train.txt'),
               'test split': self.split_list('meta/test.txt')}
        return self.measured(f'{tag}_knn_seed{seed}', key, lambda: knn_accuracy(
            build_encoder(method, checkpoint, seed), self.pixels(self.train_images),
            self.split['train_y'], self.pixels(self.test_images), self.split['test_y']))

    def representation(self, method: str, checkpoint: Optional[str], tag: str) -> Dict:
        """Each setting's test top-1 over the seeds for one encoder (or random init)."""
        results = {}
        for setting in SETTINGS[:2]:
            results[setting] = summarise([
                self.finetuned_top1(setting, method, checkpoint, seed, tag)
                for seed in self.seeds])
        knn_seeds = self.seeds if checkpoint is None else self.seeds[:1]
        knn = [self.knn(method, checkpoint, seed, tag) for seed in knn_seeds]
        results['knn'] = dict(summarise([k['top1'] for k in knn]),
                              features=[k['feature'] for k in knn])
        return results

    def generation(self, build: Callable[[], torch.nn.Module], tag: str,
                   checkpoint: Optional[str] = None) -> Dict:
        """Judge scores over the seeds' sample draws of the model that ``build`` makes from
        the frozen parts and ``checkpoint`` (None: the token predictor alone)."""
        model = None

        def score(seed: int) -> Dict:
            nonlocal model
            model = model or build()
            images = sample_digits(model, seed)
            if seed == self.seeds[0]:
                grid = np.concatenate([np.concatenate([np.asarray(i) for i in images[r:r + 20]],
                                                      1) for r in range(0, 100, 20)])
                Image.fromarray(grid).save(osp.join(self.cache, f'{tag}_samples.png'))
            return self.judge.score(on_digit_grid(images))

        parts = {'sampling config': config_part(resolved_config(ADDP_CONFIG, self.frozen)),
                 'checkpoint': checkpoint_part(checkpoint),
                 'tokenizer': file_part(self.frozen['model.tokenizer.checkpoint']),
                 'token predictor': file_part(self.frozen['model.token_predictor.checkpoint']),
                 'NUM_SAMPLES': NUM_SAMPLES, 'SAMPLING_STEPS': SAMPLING_STEPS,
                 'judge': DigitsJudge.description,
                 'train split': self.split_list('meta/train.txt'),
                 'test split': self.split_list('meta/test.txt')}
        draws = [self.measured(f'{tag}_samples_seed{seed}', dict(parts, seed=seed),
                               lambda s=seed: score(s)) for seed in self.seeds]
        result = {key: summarise([d[key] for d in draws]) for key in GENERATION_KEYS}
        histogram = np.sum([d['class_histogram'] for d in draws], axis=0)
        result.update(class_histogram=histogram.tolist(),
                      smallest_class_share=float(histogram.min() / histogram.sum()))
        return result

    def addp_sampler_model(self, checkpoint: str):
        return build_sampling_model(ADDP_CONFIG, checkpoint, cfg_options=self.frozen)

    def real_test(self) -> Dict:
        return self.judge.score(on_digit_grid(self.test_images))


def checkpoint_of(work_dir: str, method: str, iters: int) -> str:
    path = osp.join(work_dir, method, f'iter_{iters}.pth')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing; run '
                                'projects/digits_study/tools/run_study.sh first')
    return path


def main(argv=None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir',
                        help='the study work dir (projects/digits_study/tools/run_study.sh)')
    parser.add_argument('--data', default='data/digits',
                        help='tools/prepare_bundled_data.py output')
    parser.add_argument('--iters', type=int, nargs='+', default=[600, 3000, 6000, 9000],
                        help='pretraining lengths to measure (checkpoint iterations)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--update-doc', metavar='DOC',
                        help=f'also rewrite the tables between the {TOOL} markers of DOC (the '
                        'study page) from the JSON written, and keep the JSON in results/')
    args = parser.parse_args(argv)
    if args.update_doc:
        marked_text(args.update_doc, TOOL)  # a document without markers stops before measuring
    start = time.perf_counter()
    init_default_scope('addp')
    allow_mmengine_checkpoint_globals()
    study = Study(args.work_dir, args.data, args.seeds)
    batch = Config.fromfile(ADDP_CONFIG).train_dataloader.batch_size
    num_train = len(study.train_images)
    report = dict(seeds=args.seeds, num_train=num_train, num_test=len(study.test_images),
                  batch_size=batch, num_samples=NUM_SAMPLES, sampling_steps=SAMPLING_STEPS,
                  knn_neighbours=KNN_NEIGHBOURS, knn_folds=KNN_FOLDS,
                  real_test=study.real_test(), judge=DigitsJudge.description,
                  random_init=study.representation('random', None, 'random'),
                  mage=study.generation(
                      lambda: build_token_predictor_sampling_model(ADDP_CONFIG, study.frozen),
                      'mage'),
                  lengths=[])
    for iters in args.iters:
        entry = dict(iters=iters, epochs=iters * batch / num_train)
        for method in ('addp', 'mae'):
            checkpoint = checkpoint_of(args.work_dir, method, iters)
            entry[method] = study.representation(method, checkpoint, f'{method}_{iters}')
        checkpoint = checkpoint_of(args.work_dir, 'addp', iters)
        entry['addp']['generation'] = study.generation(
            lambda c=checkpoint: study.addp_sampler_model(c), f'addp_{iters}', checkpoint)
        report['lengths'].append(entry)
        print(f'[study] {iters} iterations measured ({time.perf_counter() - start:.0f} s)',
              flush=True)
    report['targets'] = check_targets(report)
    report['stage_seconds'] = dict(read_stage_times(args.work_dir),
                                   evaluation=time.perf_counter() - start)
    save_json(report, osp.join(args.work_dir, 'study.json'))
    text = markdown(report)
    write_text_atomically(osp.join(args.work_dir, 'study.md'), text)
    draw(report, osp.join(args.work_dir, 'study.png'))
    if args.update_doc:
        publish_to_doc(args.update_doc, TOOL, report, doc_tables(report))
    print(text)
    return report


def check_targets(report: Dict) -> Dict[str, bool]:
    """The study's targets, at the longest pretraining length."""
    longest = report['lengths'][-1]
    addp, random_init = (longest['addp']['finetune_10_labels'],
                         report['random_init']['finetune_10_labels'])
    samples = longest['addp']['generation']
    return {
        'ADDP beats random init in 10-label fine-tuning by more than twice the larger std':
        addp['mean'] - random_init['mean'] > 2 * max(addp['std'], random_init['std']),
        'ADDP samples reach 85% of the real-test digit-IS':
        samples['digit_is']['mean'] >= 0.85 * report['real_test']['digit_is'],
        'at least 80% of ADDP samples judged confident': samples['confident']['mean'] >= 0.8,
        'no class under 2% of ADDP samples': samples['smallest_class_share'] >= 0.02,
    }


def cell(result: Dict, scale: float = 1., digits: int = 2) -> str:
    return f'{scale * result["mean"]:.{digits}f} ± {scale * result["std"]:.{digits}f}'


def feature_name(feature: str) -> str:
    """``'block3_avg'`` as ``'block 3, average'``."""
    block, pooling = feature.split('_')
    return f'block {block[len("block"):]}, {dict(avg="average", cls="class token")[pooling]}'


def knn_cell(knn: Dict) -> str:
    """Top-1 (with its spread when there are several encoders) and the chosen feature(s)."""
    top1 = cell(knn) if len(knn['runs']) > 1 else f'{knn["mean"]:.2f}'
    features = '; '.join(feature_name(f) for f in dict.fromkeys(knn['features']))
    return f'{top1} ({features})'


def doc_tables(report: Dict) -> str:
    """The recognition and generation tables, as the README shows them, saying which split
    each number comes from."""
    seeds = ', '.join(str(seed) for seed in report['seeds'])
    lines = [f'**Recognition** (top-1 % on the {report["num_test"]} digits of the test split, '
             f'mean ± std over seeds {seeds}; k-NN: cosine, k = {report["knn_neighbours"]}, '
             'on the feature in brackets, chosen by '
             f'{report["knn_folds"]}-fold cross-validation on the train split alone):', '',
             '| encoder | epochs | fine-tune, 10 labels | fine-tune, all labels | k-NN |',
             '| --- | --- | --- | --- | --- |']

    def row(name: str, epochs: str, rep: Dict) -> str:
        return (f'| {name} | {epochs} | {cell(rep["finetune_10_labels"])} | '
                f'{cell(rep["finetune_all_labels"])} | {knn_cell(rep["knn"])} |')

    lines.append(row('random init', '0', report['random_init']))
    for method, name in (('addp', 'ADDP'), ('mae', 'MAE')):
        lines += [row(name, f'{e["epochs"]:.0f}', e[method]) for e in report['lengths']]
    real = report['real_test']
    lines += ['', f'**Generation** ({report["num_samples"]} samples × {len(report["seeds"])} '
              f'seeds, {report["sampling_steps"]} steps; the judge is fitted on the train split, '
              'and its ceiling is the real digits of the test split):', '',
              '| samples | epochs | digit-IS (max 10) | judge confident | Fréchet | '
              'near-copies | rarest class |', '| --- | --- | --- | --- | --- | --- | --- |',
              f'| real test digits (ceiling) | | {real["digit_is"]:.2f} | '
              f'{100 * real["confident"]:.1f}% | {real["frechet_distance"]:.2f} | '
              f'{100 * real["near_copies"]:.1f}% | '
              f'{100 * min(real["class_histogram"]) / sum(real["class_histogram"]):.1f}% |']

    def sample_row(name: str, epochs: str, gen: Dict) -> str:
        return (f'| {name} | {epochs} | {cell(gen["digit_is"])} | '
                f'{cell(gen["confident"], 100, 1)}% | {cell(gen["frechet_distance"])} | '
                f'{cell(gen["near_copies"], 100, 1)}% | '
                f'{100 * gen["smallest_class_share"]:.1f}% |')

    lines.append(sample_row('MAGE token predictor, MaskGIT-style', '', report['mage']))
    lines += [sample_row('ADDP', f'{e["epochs"]:.0f}', e['addp']['generation'])
              for e in report['lengths']]
    longest = report['lengths'][-1]
    histogram = longest['addp']['generation']['class_histogram']
    lines += ['', f"Class histogram of ADDP's {sum(histogram)} samples at "
              f'{longest["epochs"]:.0f} epochs: `{histogram}`.']
    return '\n'.join(lines) + '\n'


def markdown(report: Dict) -> str:
    """study.md: the tables, every class histogram, the targets and the stage times."""
    lines = ['# Does pretraining help? The digits study', '', f'Judge: {report["judge"]}.', '',
             doc_tables(report).rstrip('\n'), '', '## Class histograms (all seeds)', '',
             '| samples | pretraining epochs | class histogram |', '| --- | --- | --- |',
             f'| real test digits | | {report["real_test"]["class_histogram"]} |',
             f'| MAGE token predictor | | {report["mage"]["class_histogram"]} |']
    lines += [f'| ADDP | {e["epochs"]:.0f} | {e["addp"]["generation"]["class_histogram"]} |'
              for e in report['lengths']]
    lines += ['', '## Targets (at the longest length)', ''] + [
        f'- {name}: {"met" if met else "MISSED"}' for name, met in report['targets'].items()]
    lines += ['', '## Stage times (s)', '', '| stage | seconds |', '|---|---|'] + [
        f'| {k} | {v:.0f} |' for k, v in report['stage_seconds'].items()]
    return '\n'.join(lines) + '\n'


def draw(report: Dict, path: str) -> None:
    """Accuracy in each setting and digit-IS against pretraining epochs, one line per method."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    epochs = [e['epochs'] for e in report['lengths']]
    figure, axes = plt.subplots(1, 4, figsize=(18, 3.8))
    for axis, setting in zip(axes, SETTINGS):
        for method, name in (('addp', 'ADDP'), ('mae', 'MAE')):
            runs = [e[method][setting] for e in report['lengths']]
            axis.errorbar(epochs, [r['mean'] for r in runs], [r['std'] for r in runs],
                          marker='o', capsize=3, label=name)
        random_init = report['random_init'][setting]
        axis.axhline(random_init['mean'], color='grey', linestyle='--', label='random init')
        axis.set_title(setting.replace('_', ' '))
        axis.set_xlabel('pretraining epochs')
        axis.set_ylabel('test top-1 (%)')
        axis.legend()
    gen = [e['addp']['generation']['digit_is'] for e in report['lengths']]
    axes[3].errorbar(epochs, [g['mean'] for g in gen], [g['std'] for g in gen], marker='o',
                     capsize=3, label='ADDP')
    axes[3].axhline(report['mage']['digit_is']['mean'], color='tab:green', linestyle='--',
                    label='MAGE token predictor')
    axes[3].axhline(report['real_test']['digit_is'], color='black', linestyle=':',
                    label='real test digits')
    axes[3].set_title('samples')
    axes[3].set_xlabel('pretraining epochs')
    axes[3].set_ylabel('digit-IS (max 10)')
    axes[3].legend()
    save_figure(figure, path)
    plt.close(figure)

