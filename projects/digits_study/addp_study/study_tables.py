"""The study's report: its targets, tables, markdown and curves, from the report dict that
:mod:`.study` measures (and stores as study.json)."""
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from .report import save_figure

SETTINGS = ('finetune_10_labels', 'finetune_all_labels', 'knn')


def check_targets(report: Dict) -> Dict[str, bool]:
    """The study's targets, at the longest pretraining length: the digits record's, or on
    MNIST the paper's claims at this scale."""
    longest = report['lengths'][-1]
    addp, random_init = (longest['addp']['finetune_10_labels'],
                         report['random_init']['finetune_10_labels'])
    samples = longest['addp']['generation']
    ahead_of_random = {
        'ADDP beats random init in 10-label fine-tuning by more than twice the larger std':
        addp['mean'] - random_init['mean'] > 2 * max(addp['std'], random_init['std'])}
    if report.get('setup', 'digits') == 'digits':
        return dict(ahead_of_random, **{
            'ADDP samples reach 85% of the real-test digit-IS':
            samples['digit_is']['mean'] >= 0.85 * report['real_test']['digit_is'],
            'at least 80% of ADDP samples judged confident':
            samples['confident']['mean'] >= 0.8,
            'no class under 2% of ADDP samples': samples['smallest_class_share'] >= 0.02,
        })

    def beyond_spread(better: Dict, worse: Dict, sign: float = 1.) -> bool:
        return sign * (better['mean'] - worse['mean']) > better['std'] + worse['std']

    targets = {
        f'ADDP within 1.0 point of MAE or ahead, {setting.replace("_", " ")}':
        longest['addp'][setting]['mean'] - longest['mae'][setting]['mean'] >= -1.0
        for setting in SETTINGS[:2]}
    mage = report['mage']
    targets.update({
        "ADDP samples ahead of the token predictor's by more than the seed spreads, digit-IS":
        beyond_spread(samples['digit_is'], mage['digit_is']),
        "ADDP samples ahead of the token predictor's by more than the seed spreads, Frechet":
        beyond_spread(samples['frechet_distance'], mage['frechet_distance'], sign=-1.),
    })
    return dict(targets, **ahead_of_random)


def cell(result: Optional[Dict], scale: float = 1., digits: int = 2) -> str:
    """Mean ± std, or a dash for a setting not measured at that length."""
    if result is None:
        return '—'
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
                f'{cell(rep.get("finetune_all_labels"))} | {knn_cell(rep["knn"])} |')

    lines.append(row('random init', '0', report['random_init']))
    for method, name in methods(report):
        lines += [row(name, f'{e["epochs"]:.0f}', e[method]) for e in report['lengths']]
    if any('finetune_all_labels' not in e['addp'] for e in report['lengths']):
        lines += ['', '—: all-label fine-tuning is read at the longest length only.']
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
    if 'matched' in report:
        lines += ['', *matched_table(report)]
    return '\n'.join(lines) + '\n'


def methods(report: Dict) -> List[Tuple[str, str]]:
    """(key, name) of the pretraining methods a report measured at each length."""
    return [(key, name) for key, name in (('addp', 'ADDP'), ('mae', 'MAE'))
            if key in report['lengths'][0]]


def matched_table(report: Dict) -> List[str]:
    """The layout table: ADDP, its token predictor and random initialisation (the encoder at
    that layout's patch size) at each layout, at the matched arm's length (the same data,
    steps and measurements)."""
    matched = report['matched']
    length = matched['lengths'][-1]['iters']
    fine = next(e for e in report['lengths'] if e['iters'] == length)
    lines = [f'**The token layout** (ADDP at {fine["epochs"]:.0f} epochs at each layout, the '
             'same data, steps and measurements; the token predictor of each layout, and random '
             "initialisation of the encoder at that layout's patch size):", '',
             '| layout | fine-tune, 10 labels | fine-tune, all labels | k-NN | ADDP digit-IS | '
             'ADDP Fréchet | token predictor digit-IS | token predictor Fréchet | '
             'random init, 10 labels | random init, all labels |',
             '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for name, rep, entry in (('8 × 8 grid, 256 codes', report, fine),
                             ('4 × 4 grid, 32 codes', matched, matched['lengths'][-1])):
        addp, mage = entry['addp'], rep['mage']
        lines.append(f'| {name} | {cell(addp["finetune_10_labels"])} | '
                     f'{cell(addp["finetune_all_labels"])} | {knn_cell(addp["knn"])} | '
                     f'{cell(addp["generation"]["digit_is"])} | '
                     f'{cell(addp["generation"]["frechet_distance"])} | '
                     f'{cell(mage["digit_is"])} | {cell(mage["frechet_distance"])} | '
                     f'{cell(rep["random_init"]["finetune_10_labels"])} | '
                     f'{cell(rep["random_init"]["finetune_all_labels"])} |')
    return lines


def markdown(report: Dict) -> str:
    """study.md: the tables, every class histogram, the targets and the stage times."""
    title = {'digits': 'The digits study'}.get(report.get('setup', 'digits'),
                                               f'The study {report.get("setup")}')
    lines = [f'# Does pretraining help? {title}', '', f'Judge: {report["judge"]}.', '',
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


def plot_curve(axis, lengths: List[Dict], result: Callable[[Dict], Optional[Dict]],
               **style) -> None:
    """Mean ± std of ``result(entry)`` against pretraining epochs, at each length of a report
    that measured it (``result`` gives None where it did not)."""
    points = [(e['epochs'], result(e)) for e in lengths if result(e) is not None]
    axis.errorbar([epochs for epochs, _ in points], [r['mean'] for _, r in points],
                  [r['std'] for _, r in points], capsize=3, **style)


def draw(report: Dict, path: str) -> None:
    """Accuracy in each setting and digit-IS against pretraining epochs, one line per method."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 4, figsize=(18, 3.8))
    matched = report.get('matched')
    coarse = dict(marker='s', linestyle=':', label='ADDP, 4 x 4 grid of 32 codes')
    for axis, setting in zip(axes, SETTINGS):
        for method, name in methods(report):
            plot_curve(axis, report['lengths'], lambda e, m=method: e[m].get(setting),
                       marker='o', label=name)
        if matched:
            plot_curve(axis, matched['lengths'], lambda e: e['addp'].get(setting), **coarse)
        random_init = report['random_init'][setting]
        axis.axhline(random_init['mean'], color='grey', linestyle='--', label='random init')
        axis.set_title(setting.replace('_', ' '))
        axis.set_xlabel('pretraining epochs')
        axis.set_ylabel('test top-1 (%)')
        axis.legend()

    def digit_is(entry: Dict) -> Dict:
        return entry['addp']['generation']['digit_is']

    plot_curve(axes[3], report['lengths'], digit_is, marker='o', label='ADDP')
    axes[3].axhline(report['mage']['digit_is']['mean'], color='tab:green', linestyle='--',
                    label='MAGE token predictor')
    if matched:
        plot_curve(axes[3], matched['lengths'], digit_is, **coarse)
        axes[3].axhline(matched['mage']['digit_is']['mean'], color='tab:olive', linestyle='--',
                        label='token predictor, 4 x 4 grid')
    axes[3].axhline(report['real_test']['digit_is'], color='black', linestyle=':',
                    label='real test digits')
    axes[3].set_title('samples')
    axes[3].set_xlabel('pretraining epochs')
    axes[3].set_ylabel('digit-IS (max 10)')
    axes[3].legend()
    save_figure(figure, path)
    plt.close(figure)


def draw_samples(panels: Dict[str, np.ndarray], path: str) -> None:
    """Sample tiles (grey, uint8) one above the other, each under its title."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    height = max(tiles.shape[0] / tiles.shape[1] for tiles in panels.values())
    figure, axes = plt.subplots(len(panels), 1, figsize=(10, len(panels) * (10 * height + .5)))
    for axis, (title, tiles) in zip(axes, panels.items()):
        axis.imshow(tiles, cmap='gray', vmin=0, vmax=255)
        axis.set_title(title)
        axis.axis('off')
    save_figure(figure, path)
    plt.close(figure)
