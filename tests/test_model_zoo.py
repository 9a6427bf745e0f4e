"""The model zoo: configs/addp/metafile.yml against its schema, the repository, the configs,
the models they build, and the tables of configs/addp/README.md and of the front page."""
import os.path as osp
import re
from typing import Dict, List, Optional

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
METAFILE = 'configs/addp/metafile.yml'
ZOO_README = 'configs/addp/README.md'

# The paper's results (Tian et al., ICLR 2024), which the zoo reports as its targets.
PAPER = {
    'addp_vit-base-p16_64xb64-amp-1600e_in1k': {'FID': 8.9, 'IS': 95.3},
    'addp_vit-large-p16_64xb64-amp-800e_in1k': {'FID': 7.6, 'IS': 105.1},
    'vit-base-p16_addp-pre_8xb128-amp-100e_in1k': {'Top 1 Accuracy': 83.9},
    'vit-large-p16_addp-pre_8xb128-amp-50e_in1k': {'Top 1 Accuracy': 85.9},
    'mask-rcnn_addp-vit-b_simplefpn_16xb4-lsj-100e_coco': {'box AP': 51.7},
    'mask-rcnn_addp-vit-l_simplefpn_16xb4-lsj-100e_coco': {'box AP': 54.6},
    'upernet_addp-vit-b_8xb2-amp-160k_ade20k-512x512': {'mIoU': 48.1},
    'upernet_addp-vit-l_8xb2-amp-160k_ade20k-512x512': {'mIoU': 54.3},
}

COLLECTION_KEYS = {'Name', 'Metadata', 'Paper', 'README', 'Code'}
MODEL_KEYS = {'Name', 'In Collection', 'Metadata', 'Results', 'Config', 'Weights'}
OPTIONAL_MODEL_KEYS = {'Downstream', 'Converted From'}
RESULT_KEYS = {'Task', 'Dataset', 'Metrics'}

# The results tables of the zoo README: the task and dataset of each section, and which
# metric each column holds.
SECTIONS = {
    'Pretrained models': ('Unconditional Image Generation', 'ImageNet-1k'),
    'Image classification on ImageNet-1k': ('Image Classification', 'ImageNet-1k'),
    'Object detection on COCO': ('Object Detection', 'COCO'),
    'Semantic segmentation on ADE20k': ('Semantic Segmentation', 'ADE20K'),
}
METRIC_COLUMNS = {
    'FID ↓ (paper)': 'FID',
    'IS ↑ (paper)': 'IS',
    'Top-1 (%) (paper)': 'Top 1 Accuracy',
    'AP<sup>box</sup> (paper)': 'box AP',
    'mIoU (paper)': 'mIoU',
}
OTHER_COLUMNS = {'Model', 'Params (M)', 'Config', 'Checkpoint', 'Pretrained'}

# The front page's table: its rows by model size, its columns by the zoo model and metric.
FRONT_PAGE = {
    'ADDP ViT-B/16': {
        'FID ↓': ('addp_vit-base-p16_64xb64-amp-1600e_in1k', 'FID'),
        'IS ↑': ('addp_vit-base-p16_64xb64-amp-1600e_in1k', 'IS'),
        'ImageNet top-1': ('vit-base-p16_addp-pre_8xb128-amp-100e_in1k', 'Top 1 Accuracy'),
        'COCO AP<sup>box</sup>': ('mask-rcnn_addp-vit-b_simplefpn_16xb4-lsj-100e_coco', 'box AP'),
        'ADE20k mIoU': ('upernet_addp-vit-b_8xb2-amp-160k_ade20k-512x512', 'mIoU'),
    },
    'ADDP ViT-L/16': {
        'FID ↓': ('addp_vit-large-p16_64xb64-amp-800e_in1k', 'FID'),
        'IS ↑': ('addp_vit-large-p16_64xb64-amp-800e_in1k', 'IS'),
        'ImageNet top-1': ('vit-large-p16_addp-pre_8xb128-amp-50e_in1k', 'Top 1 Accuracy'),
        'COCO AP<sup>box</sup>': ('mask-rcnn_addp-vit-l_simplefpn_16xb4-lsj-100e_coco', 'box AP'),
        'ADE20k mIoU': ('upernet_addp-vit-l_8xb2-amp-160k_ade20k-512x512', 'mIoU'),
    },
}

CODE_SPAN = re.compile(r'^`([^`]+)`$')
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')


def read(path: str) -> str:
    with open(osp.join(ROOT, path), encoding='utf-8') as f:
        return f.read()


@pytest.fixture(scope='module')
def metafile() -> Dict:
    return yaml.safe_load(read(METAFILE))


@pytest.fixture(scope='module')
def models(metafile) -> Dict[str, Dict]:
    return {model['Name']: model for model in metafile['Models']}


def results(model: Dict) -> Dict[str, float]:
    """{metric: value} over all of a model's results."""
    return {name: value for result in (model['Results'] or [])
            for name, value in result['Metrics'].items()}


def split_row(line: str) -> List[str]:
    return [cell.strip() for cell in line.strip().strip('|').split('|')]


def tables(text: str) -> Dict[str, List[Dict[str, str]]]:
    """{heading: rows} of the first table under each heading; a row maps header to cell."""
    found, heading, lines = {}, None, text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith('#'):
            heading = line.lstrip('#').strip()
        elif line.startswith('|') and heading is not None and heading not in found:
            header = split_row(line)
            rows = []
            index += 2  # past the separator row
            while index < len(lines) and lines[index].startswith('|'):
                rows.append(dict(zip(header, split_row(lines[index]))))
                index += 1
            found[heading] = rows
            continue
        index += 1
    return found


def code_name(cell: str) -> Optional[str]:
    match = CODE_SPAN.match(cell)
    return match.group(1) if match else None


def number_or_none(cell: str) -> Optional[float]:
    return None if cell == 'N/A' else float(cell)


@pytest.fixture(scope='module')
def zoo_tables() -> Dict[str, List[Dict[str, str]]]:
    return tables(read(ZOO_README))


def checkpoint_files(zoo_tables) -> List[str]:
    return [code_name(row['File']) for row in zoo_tables['Checkpoints']]


# Schema


def test_schema(metafile):
    assert set(metafile) == {'Collections', 'Models'}
    for collection in metafile['Collections']:
        assert set(collection) == COLLECTION_KEYS, collection['Name']
        assert collection['Metadata']['Training Data'] == 'ImageNet-1k'
        assert 'ViT' in collection['Metadata']['Architecture']
        assert set(collection['Paper']) == {'Title', 'URL'}
        assert collection['Paper']['URL'] == 'https://arxiv.org/abs/2306.05423'
        assert collection['Paper']['Title'].startswith('ADDP: Learning General Representations')
        assert set(collection['Code']) == {'URL', 'Version'}
    assert len(metafile['Models']) == 10
    for model in metafile['Models']:
        name = model['Name']
        assert MODEL_KEYS <= set(model) <= MODEL_KEYS | OPTIONAL_MODEL_KEYS, name
        metadata = model['Metadata']
        assert isinstance(metadata['Batch Size'], int) and metadata['Batch Size'] > 0, name
        assert ('Epochs' in metadata) != ('Iterations' in metadata), name
        assert model['Results'] is None or isinstance(model['Results'], list), name
        for result in model['Results'] or []:
            assert set(result) == RESULT_KEYS, name
            assert result['Metrics'], name
            for metric, value in result['Metrics'].items():
                assert isinstance(value, (int, float)) and not isinstance(value, bool), (
                    name, metric)


def test_names_are_unique_and_collections_known(metafile, models):
    names = [model['Name'] for model in metafile['Models']]
    assert len(names) == len(set(names)) == len(models)
    collections = [collection['Name'] for collection in metafile['Collections']]
    assert len(collections) == len(set(collections))
    for model in metafile['Models']:
        assert model['In Collection'] in collections, model['Name']
    for model in metafile['Models']:
        for downstream in model.get('Downstream', []):
            assert downstream in models, f'{model["Name"]}: unknown downstream {downstream}'


def test_paths_exist(metafile):
    version = re.search(r"__version__ = '([^']+)'", read('addp/version.py')).group(1)
    for collection in metafile['Collections']:
        assert collection['README'] == ZOO_README
        assert osp.isfile(osp.join(ROOT, collection['README']))
        assert osp.isfile(osp.join(ROOT, collection['Code']['URL'])), collection['Code']
        assert collection['Code']['Version'] == f'v{version}'
    missing = [model['Config'] for model in metafile['Models']
               if not osp.isfile(osp.join(ROOT, model['Config']))]
    assert not missing, f'configs not in the repository: {missing}'


def test_paper_results(models):
    assert {name: results(model) for name, model in models.items() if model['Results']} == PAPER


def test_weights_are_listed_with_their_source(models, zoo_tables):
    files = checkpoint_files(zoo_tables)
    assert len(files) == len(set(files))
    weights = [model['Weights'] for model in models.values() if model['Weights'] is not None]
    assert weights, 'no model names its weights'
    unlisted = [name for name in weights if name not in files]
    assert not unlisted, f'weights missing from the checkpoint table of {ZOO_README}: {unlisted}'
    for row in zoo_tables['Checkpoints']:
        assert row['Where it comes from'], row['File']
    # the frozen parts that pretraining reads
    assert {'vqgan_jax_strongaug.ckpt', 'mage-vitb-1600.pth', 'mage-vitl-1600.pth'} <= set(files)


def test_zoo_readme_tables_match_the_metafile(models, zoo_tables):
    seen = set()
    for section, (task, dataset) in SECTIONS.items():
        rows = zoo_tables[section]
        assert rows, section
        for row in rows:
            name = code_name(row['Model'])
            assert name in models, f'{section}: {row["Model"]} is not in {METAFILE}'
            assert name not in seen, f'{name} is listed twice'
            seen.add(name)
            model = models[name]
            unknown = set(row) - OTHER_COLUMNS - set(METRIC_COLUMNS)
            assert not unknown, f'{section}: columns the test does not know: {unknown}'
            for result in model['Results'] or []:
                assert (result['Task'], result['Dataset']) == (task, dataset), name
            expected = results(model)
            for column, metric in METRIC_COLUMNS.items():
                if column in row:
                    assert number_or_none(row[column]) == expected.get(metric), (name, column)
            shown = {METRIC_COLUMNS[c] for c in row if c in METRIC_COLUMNS
                     and row[c] != 'N/A'}
            assert shown == set(expected), f'{name}: metrics {set(expected)} not all shown'
            configs = [osp.normpath(osp.join(osp.dirname(ZOO_README), target))
                       for target in LINK.findall(row['Config'])]
            assert configs and configs[0] == model['Config'], name
            assert code_name(row['Checkpoint']) == model['Weights'], name
            if 'Params (M)' in row:
                parameters = model['Metadata'].get('Parameters')
                assert number_or_none(row['Params (M)']) == (
                    None if parameters is None else round(parameters / 1e6, 2)), name
    assert seen == set(models), f'models missing from the tables: {set(models) - seen}'


def test_downstream_models_start_from_their_upstream_weights(models, zoo_tables):
    pretrained = {code_name(row['Model']): code_name(row['Pretrained'])
                  for section in SECTIONS for row in zoo_tables[section] if 'Pretrained' in row}
    upstream = {downstream: model for model in models.values()
                for downstream in model.get('Downstream', [])}
    assert set(pretrained) == set(upstream)
    for name, model in upstream.items():
        assert pretrained[name] == model['Weights'], name


def test_front_page_table_matches_the_metafile(models):
    rows = tables(read('README.md'))['ADDP on MMEngine']
    assert [row['Model'] for row in rows] == list(FRONT_PAGE)
    for row in rows:
        for column, (name, metric) in FRONT_PAGE[row['Model']].items():
            assert float(row[column]) == results(models[name])[metric], (row['Model'], column)


# The metafile against the configs and the models they build

def core_models(models):
    return [model for model in models.values() if model['Config'].startswith('configs/')]


def host_library(config: str) -> Optional[str]:
    if config.startswith('projects/addp_det/'):
        return 'mmdet'
    if config.startswith('projects/addp_seg/'):
        return 'mmseg'
    return None


def needing_ops(name: str):
    """Detection and segmentation configs load only in the ops stage (mmdet, mmseg)."""
    ops = name.startswith(('mask-rcnn_', 'upernet_'))
    return pytest.param(name, marks=pytest.mark.needs_ops) if ops else name


@pytest.mark.parametrize('name', [needing_ops(name) for name in sorted(PAPER) + [
    'vit-base-p16_addp-pre_8xb512-amp-linear-90e_in1k',
    'vit-large-p16_addp-pre_8xb512-amp-linear-90e_in1k']])
def test_metadata_matches_the_config(models, name):
    from mmengine.config import Config
    model = models[name]
    library = host_library(model['Config'])
    if library:
        pytest.importorskip(library, reason=f'{library} is in the ops stage')
    cfg = Config.fromfile(osp.join(ROOT, model['Config']))
    gpus, per_gpu = map(int, re.search(r'_(\d+)xb(\d+)-', name).groups())
    assert cfg.train_dataloader.batch_size == per_gpu, name
    assert model['Metadata']['Batch Size'] == gpus * per_gpu, name
    if 'Epochs' in model['Metadata']:
        assert cfg.train_cfg.max_epochs == model['Metadata']['Epochs'], name
        assert f'-{cfg.train_cfg.max_epochs}e_' in name, name
    else:
        assert cfg.train_cfg.max_iters == model['Metadata']['Iterations'], name


def test_parameter_counts(models):
    """Parameters equal those of the model the config builds (on the meta device)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from tool_modules import load_tool
    count_parameters = load_tool('model_summary').count_parameters
    init_default_scope('addp')
    counted = {}
    for model in core_models(models):
        counts = count_parameters(Config.fromfile(osp.join(ROOT, model['Config'])))
        counted[model['Name']] = sum(v for part, v in counts.items() if part != 'trainable')
    expected = {model['Name']: model['Metadata']['Parameters'] for model in core_models(models)}
    assert len(expected) == 6
    assert counted == expected
