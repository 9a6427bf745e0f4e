"""Does ADDP pretraining help? Measures what run_study.sh trained, and writes the study.

    python projects/digits_study/tools/study.py WORK_DIR [--setup digits|mnist_grid8]
        [--data DIR] [--iters N ...] [--seeds 0 1 2] [--device cpu|cuda] [--measure-only]
        [--update-doc DOC]

The setup (:mod:`.setups`) names the recipes, the data, the lengths and the judge: ``digits``
(the 4 x 4 / 32 layout's record on scikit-learn's digits) or ``mnist_grid8`` (MNIST-5k at the
8 x 8 grid of 256 codes, with the 4 x 4 / 32 layout measured at the same lengths from
WORK_DIR/mnist_grid4/). For each pretraining length (checkpoints
``WORK_DIR/{addp,mae}/iter_N.pth``) and for random initialisation, on the test split, over
``--seeds``:
  - fine-tuning with 10 labels per class and with all labels (seed: head, drop path, data
    order, and the 10-label draw; on MNIST all labels at the longest length only). Each run
    trains to its last epoch and reads the test split once, after training: no checkpoint or
    setting is chosen on it.
  - k-NN on frozen features. The block (1-4) and the pooling (class token or patch average)
    are chosen by 5-fold cross-validation on the train split alone. Pretrained encoders are
    deterministic here, so only random initialisation has a spread (one encoder per seed).
  - for ADDP, and for the token predictor's own MaskGIT-style samples (the MAGE baseline),
    samples scored by the project's judge (:mod:`.judge`, fitted on train images only), one
    draw per seed.
Every measurement is cached in WORK_DIR/study_cache/ with the key of what produced it (the
resolved config, the checkpoints' content, the data split lists, the constants and the seed):
a rerun reuses what is unchanged and recomputes the rest, saying why.
Writes WORK_DIR/study.json, study.md, study.png (the curves) and study_samples.png (the
first seed's samples at each length beside real test digits); ``--update-doc DOC`` also
rewrites DOC's tables between the study's markers (``digits_study``, ``mnist_grid8_study``)
from that JSON, and keeps the JSON beside it in results/.
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
from addp.errors import InvalidInputError
from addp.fileio import write_text_atomically
from addp.image_io import imagenet_normalize, pil_to_tensor, save_json, to_uint8
from addp.measurement_cache import cached, config_part, file_part, resolved_config
from addp.models.sampling import ADDPSampler
from addp.registry import MODELS

from .doc_tables import marked_text, publish_to_doc
from .judge import DigitsJudge, MnistJudge, mnist_judge_grid, mnist_judge_split
from .report import (
    classify,
    on_digit_grid,
    read_pngs,
    read_stage_times,
    split_paths,
    tile,
)
from .setups import SETUPS, StudySetup
from .study_tables import SETTINGS, check_targets, doc_tables, draw, draw_samples, markdown

TOOL = 'digits_study'
GENERATION_KEYS = ('digit_is', 'confident', 'frechet_distance', 'near_copies')
NUM_SAMPLES = 200
SAMPLING_STEPS = 16  # as the demo samples
KNN_NEIGHBOURS = 10
KNN_FOLDS = 5
IMAGE_SIZE = 32  # every setup's images (Study checks its recipe)
JUDGES = {'digits': DigitsJudge, 'mnist': MnistJudge}


def finetune_config(configs: Dict, setting: str, method: str) -> Config:
    """The fine-tuning config of ``setting`` for the encoder of ``method``, from a setup's
    ``finetune_configs``."""
    if setting == 'finetune_all_labels' and method == 'mae':
        cfg = Config.fromfile(configs[(setting, 'addp')])
        mae = Config.fromfile(configs[('finetune_10_labels', 'mae')])
        cfg.model.backbone = mae.model.backbone
        return cfg
    return Config.fromfile(configs[(setting, 'addp' if method == 'random' else method)])


def build_encoder(configs: Dict, method: str, checkpoint: Optional[str],
                  seed: int) -> torch.nn.Module:
    """The encoder of ``method`` as fine-tuning builds it, every block's tokens out."""
    cfg = finetune_config(configs, 'finetune_10_labels', method)
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
def block_features(encoder: torch.nn.Module, pixels: torch.Tensor,
                   device: str = 'cpu') -> Dict[str, np.ndarray]:
    """Class-token and patch-average features of every block, for images (M, 3, H, W) in
    [0, 1], normalised as fine-tuning normalises them, by the encoder on ``device``."""
    outputs = [[tokens.cpu() for tokens in encoder(imagenet_normalize(batch.to(device)))]
               for batch in pixels.split(256)]
    features = {}
    for block in range(len(outputs[0])):
        tokens = torch.cat([out[block] for out in outputs])
        features[f'block{block + 1}_cls'] = tokens[:, 0].numpy()
        features[f'block{block + 1}_avg'] = tokens[:, 1:].mean(1).numpy()
    return features


def knn_accuracy(encoder: torch.nn.Module, train: torch.Tensor, train_y: np.ndarray,
                 test: torch.Tensor, test_y: np.ndarray, device: str = 'cpu') -> Dict:
    """Test top-1 (%) of a cosine k-NN on the feature that ``KNN_FOLDS``-fold cross-validation
    on the train split picks; the test split is read only for the reported accuracy."""
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def knn():
        return make_pipeline(StandardScaler(),
                             KNeighborsClassifier(KNN_NEIGHBOURS, metric='cosine'))

    train_features, test_features = (block_features(encoder, train, device),
                                     block_features(encoder, test, device))
    cv = {name: float(cross_val_score(knn(), x, train_y, cv=KNN_FOLDS).mean())
          for name, x in train_features.items()}
    chosen = max(cv, key=cv.get)
    classifier = knn().fit(train_features[chosen], train_y)
    accuracy = 100. * float((classifier.predict(test_features[chosen]) == test_y).mean())
    return dict(top1=accuracy, feature=chosen, train_cv=cv)


def blank_digits_canvas(model, device: torch.device = torch.device('cpu')) -> Canvas:
    """Every token of a digit masked, at the digits' image size."""
    image_size = (IMAGE_SIZE, IMAGE_SIZE)
    rows, columns = model.tokenizer.grid_size(image_size)
    return blank_canvas(rows * columns, image_size, device)


def sample_digits(model, seed: int) -> List[Image.Image]:
    """``NUM_SAMPLES`` unconditional samples of ``model`` with the demo's recipe, on the
    model's device."""
    sampler = ADDPSampler(num_steps=SAMPLING_STEPS)
    canvas = blank_digits_canvas(model, next(model.parameters()).device)
    images = []
    for start in range(0, NUM_SAMPLES, 100):
        state = sample_images(model, sampler, canvas, range(start, start + 100), seed)
        images += [Image.fromarray(image) for image in to_uint8(state.pixels.cpu())]
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
        data_root (str): The images as a folder (tools/prepare_bundled_data.py).
        seeds (Sequence[int]): The seeds of the fine-tuning runs, encoders and sample draws.
        setup (StudySetup): Its recipes and judge (:mod:`.setups`); the digits study's by
            default.
        device (str): Where encoders and samplers run (``'cuda'`` or ``'cpu'``); fine-tuning
            runs where MMEngine's runner puts it, the GPU when one is visible. The caches do
            not key the device: give a GPU run its own work dir.
    """

    def __init__(self, work_dir: str, data_root: str, seeds: Sequence[int],
                 setup: StudySetup = SETUPS['digits'], device: str = 'cpu') -> None:
        self.work_dir, self.data_root, self.seeds = work_dir, data_root, list(seeds)
        self.setup, self.device = setup, device
        if Config.fromfile(setup.addp_config).img_size != IMAGE_SIZE:
            raise InvalidInputError(f'{setup.addp_config} is not at {IMAGE_SIZE} px, the '
                                    'size the study samples at')
        self.cache = osp.join(work_dir, 'study_cache')
        os.makedirs(self.cache, exist_ok=True)
        self.frozen = {'model.tokenizer.checkpoint': osp.join(work_dir, 'tokenizer.ckpt'),
                       'model.token_predictor.checkpoint':
                       osp.join(work_dir, 'token_predictor.pth')}

    @cached_property
    def split(self) -> Dict[str, np.ndarray]:
        """The labels of the train and test splits, in the order of their lists, and the
        judge's pixels: for the digits the 8 x 8 train and test digits (its near-copy
        calibration reads the test digits, as the record did); for MNIST the train split's
        training and held-out parts on the judge's grid (the test split is not read)."""
        if self.setup.judge == 'digits':
            train_x, test_x, train_y, test_y = load_digits_split()
            return dict(judge_x=train_x, judge_y=train_y, calibration_x=test_x,
                        train_y=train_y, test_y=test_y)
        parts = mnist_judge_split(self.data_root)
        return dict(judge_x=parts['train_x'], judge_y=parts['train_y'],
                    calibration_x=parts['val_x'], train_y=split_labels(self.data_root, 'train'),
                    test_y=split_labels(self.data_root, 'test'))

    @cached_property
    def judge(self) -> DigitsJudge:
        return JUDGES[self.setup.judge](self.split['judge_x'], self.split['judge_y'],
                                        self.split['calibration_x'])

    def judge_grid(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Images (stored or sampled, 32 px) on the judge's grid."""
        if self.setup.judge == 'digits':
            return on_digit_grid(images)
        return mnist_judge_grid(np.stack([np.asarray(image.convert('L')) for image in images]))

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
        cfg = finetune_config(self.setup.finetune_configs, setting, method)
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
        configs = self.setup.finetune_configs
        key = {'encoder config': config_part(finetune_config(configs, 'finetune_10_labels',
                                                             method)),
               'checkpoint': checkpoint_part(checkpoint), 'seed': seed,
               'KNN_NEIGHBOURS': KNN_NEIGHBOURS, 'KNN_FOLDS': KNN_FOLDS,
               'train split': self.split_list('meta/train.txt'),
               'test split': self.split_list('meta/test.txt')}
        return self.measured(f'{tag}_knn_seed{seed}', key, lambda: knn_accuracy(
            build_encoder(configs, method, checkpoint, seed).to(self.device),
            self.pixels(self.train_images), self.split['train_y'],
            self.pixels(self.test_images), self.split['test_y'], self.device))

    def representation(self, method: str, checkpoint: Optional[str], tag: str,
                       all_labels: bool = True) -> Dict:
        """Each setting's test top-1 over the seeds for one encoder (or random init); with
        ``all_labels`` False, fine-tuning with 10 labels and k-NN only."""
        results = {}
        for setting in SETTINGS[:2 if all_labels else 1]:
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
            return self.judge.score(self.judge_grid(images))

        parts = {'sampling config': config_part(resolved_config(self.setup.addp_config,
                                                                self.frozen)),
                 'checkpoint': checkpoint_part(checkpoint),
                 'tokenizer': file_part(self.frozen['model.tokenizer.checkpoint']),
                 'token predictor': file_part(self.frozen['model.token_predictor.checkpoint']),
                 'NUM_SAMPLES': NUM_SAMPLES, 'SAMPLING_STEPS': SAMPLING_STEPS,
                 'judge': JUDGES[self.setup.judge].description,
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
        return build_sampling_model(self.setup.addp_config, checkpoint, cfg_options=self.frozen,
                                    device=self.device)

    def token_predictor_sampler_model(self):
        return build_token_predictor_sampling_model(self.setup.addp_config, self.frozen,
                                                    self.device)

    def real_test(self) -> Dict:
        return self.judge.score(self.judge_grid(self.test_images))


def split_labels(data_root: str, split: str) -> np.ndarray:
    """The labels of ``data_root/meta/<split>.txt`` (``path label`` lines), in its order."""
    with open(osp.join(data_root, 'meta', f'{split}.txt')) as f:
        return np.array([int(line.split()[1]) for line in f if line.strip()])


def sample_panels(study: Study, lengths: Sequence[Dict]) -> Dict[str, np.ndarray]:
    """The first seed's samples (the cached 5 x 20 tiles) of the token predictor and of ADDP at
    each length in ``lengths`` (a report's), after 100 real test digits drawn evenly."""
    real = study.test_images[::len(study.test_images) // 100][:100]
    panels = {'real test digits': tile(real, 20)}
    layout = study.setup.layout
    for title, tag in [(f'token predictor, {layout}', 'mage')] + [
            (f'ADDP, {layout}, {entry["epochs"]:.0f} epochs', f'addp_{entry["iters"]}')
            for entry in lengths]:
        path = osp.join(study.cache, f'{tag}_samples.png')
        panels[title] = np.asarray(Image.open(path).convert('L'))
    return panels


def checkpoint_of(work_dir: str, method: str, iters: int) -> str:
    path = osp.join(work_dir, method, f'iter_{iters}.pth')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing; run '
                                'projects/digits_study/tools/run_study.sh first')
    return path


def measure(study: Study, iters: Sequence[int], start: float) -> Dict:
    """Random initialisation, the token predictor's samples, and each method's encoder (and
    ADDP's samples) at each length: the body of a study's report."""
    setup, work_dir = study.setup, study.work_dir
    batch = Config.fromfile(setup.addp_config).train_dataloader.batch_size
    num_train = len(study.train_images)
    report = dict(setup=setup.name, device=study.device, seeds=study.seeds, num_train=num_train,
                  num_test=len(study.test_images), batch_size=batch, num_samples=NUM_SAMPLES,
                  sampling_steps=SAMPLING_STEPS, knn_neighbours=KNN_NEIGHBOURS,
                  knn_folds=KNN_FOLDS, real_test=study.real_test(),
                  judge=JUDGES[setup.judge].description,
                  random_init=study.representation('random', None, 'random'),
                  mage=study.generation(study.token_predictor_sampler_model, 'mage'),
                  lengths=[])
    for length in iters:
        entry = dict(iters=length, epochs=length * batch / num_train)
        all_labels = setup.all_labels_at_every_length or length == iters[-1]
        for method in setup.methods:
            checkpoint = checkpoint_of(work_dir, method, length)
            entry[method] = study.representation(method, checkpoint, f'{method}_{length}',
                                                 all_labels)
        checkpoint = checkpoint_of(work_dir, 'addp', length)
        entry['addp']['generation'] = study.generation(
            lambda c=checkpoint: study.addp_sampler_model(c), f'addp_{length}', checkpoint)
        report['lengths'].append(entry)
        print(f'[study] {setup.name}: {length} iterations measured '
              f'({time.perf_counter() - start:.0f} s)', flush=True)
    return report


def main(argv=None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir',
                        help='the study work dir (projects/digits_study/tools/run_study.sh)')
    parser.add_argument('--setup', choices=sorted(SETUPS), default='digits',
                        help='which study (addp_study/setups.py): its recipes, data and judge')
    parser.add_argument('--data', help="tools/prepare_bundled_data.py output (default: the "
                        "setup's, data/digits or data/mnist)")
    parser.add_argument('--iters', type=int, nargs='+',
                        help="pretraining lengths to measure (checkpoint iterations; default: "
                        "the setup's)")
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'],
                        help='where encoders and samplers run (fine-tuning takes the GPU when '
                        'one is visible); give a GPU run its own work dir')
    parser.add_argument('--measure-only', action='store_true',
                        help='measure into the cache and write no report (run_study.sh '
                        'measures the matched arm this way while the main one trains)')
    parser.add_argument('--update-doc', metavar='DOC',
                        help='also rewrite the tables between the study\'s markers of DOC (the '
                        'study page) from the JSON written, and keep the JSON in results/')
    args = parser.parse_args(argv)
    setup = SETUPS[args.setup]
    marker = doc_marker(setup)
    if args.update_doc:
        marked_text(args.update_doc, marker)  # a document without markers stops before measuring
    start = time.perf_counter()
    init_default_scope('addp')
    allow_mmengine_checkpoint_globals()
    data = args.data or setup.data_root
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise InvalidInputError('--device cuda: no CUDA GPU is visible; run with --device cpu')
    study = Study(args.work_dir, data, args.seeds, setup, args.device)
    iters = args.iters or setup.iters
    report = measure(study, iters, start)
    if args.measure_only:
        return report
    panels = sample_panels(study, report['lengths'])
    if setup.matched:  # the other layout at the same lengths
        matched = SETUPS[setup.matched]
        matched_study = Study(osp.join(args.work_dir, matched.name), data, args.seeds, matched,
                              args.device)
        report['matched'] = measure(matched_study, iters, start)
        panels.update(list(sample_panels(matched_study, report['matched']['lengths']).items())[1:])
    report['targets'] = check_targets(report)
    report['stage_seconds'] = dict(read_stage_times(args.work_dir),
                                   evaluation=time.perf_counter() - start)
    save_json(report, osp.join(args.work_dir, 'study.json'))
    text = markdown(report)
    write_text_atomically(osp.join(args.work_dir, 'study.md'), text)
    draw(report, osp.join(args.work_dir, 'study.png'))
    draw_samples(panels, osp.join(args.work_dir, 'study_samples.png'))
    if args.update_doc:
        publish_to_doc(args.update_doc, marker, report, doc_tables(report))
    print(text)
    return report


def doc_marker(setup: StudySetup) -> str:
    """The name of the markers between which a study's tables go in its page."""
    return TOOL if setup.name == 'digits' else f'{setup.name}_study'
