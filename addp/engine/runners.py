"""A runner that sizes an image classifier to the classes found in its data.

Fine-tuning on a folder of class subfolders should not require counting the classes by hand.
``runner_type='ClassesFromDataRunner'`` reads the classes after the config is final (so
``--cfg-options train_dataloader.dataset.data_root=...`` is honoured) and before the model is
built, then sets ``model.head.num_classes``, the data preprocessor's ``num_classes`` (for mixup
and cutmix targets) and trims ``Accuracy`` top-k values that exceed the number of classes.
"""
import copy
from typing import List, Sequence, Tuple, Union

from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from addp.datasets import CheckedCustomDataset
from addp.errors import InputNotFoundError, InvalidInputError
from addp.registry import DATASETS, RUNNERS

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
EVALUATORS = ('val_evaluator', 'test_evaluator')


def _describe(dataset_cfg: dict) -> str:
    root = dataset_cfg.get('data_root', '')
    prefix = dataset_cfg.get('data_prefix', '')
    if isinstance(prefix, dict):
        prefix = prefix.get('img_path', '')
    return '/'.join(p.rstrip('/') for p in (root, prefix) if p) or '(no data_root)'


def dataset_classes(dataset_cfg: dict) -> List[str]:
    """Class names of a dataset config: its ``metainfo`` classes, or those it finds on disk
    (the subfolder names of a folder dataset).

    Raises:
        FileNotFoundError: The data is not there.
        ValueError: The dataset names no classes (an annotation file without ``classes``).
    """
    dataset_cfg = dict(copy.deepcopy(dataset_cfg), lazy_init=True)
    if issubclass(DATASETS.get(dataset_cfg['type']), CheckedCustomDataset):
        dataset_cfg['check_images'] = False  # the runner's own build checks every file
    dataset = DATASETS.build(dataset_cfg)
    classes = dataset.metainfo.get('classes')
    if not classes:
        dataset.full_init()
        classes = dataset.metainfo.get('classes')
    if not classes:
        raise InvalidInputError(
            f'the dataset at {_describe(dataset_cfg)} names no classes; lay it out as one '
            'subfolder per class, or give metainfo=dict(classes=[...]) in its config')
    return list(classes)


def _available_classes(cfg: Config) -> List[Tuple[str, List[str]]]:
    """(dataloader name, classes) for every configured dataset whose data exists."""
    found, absent = [], []
    for name in DATALOADERS:
        loader = cfg.get(name)
        if not loader or not loader.get('dataset'):
            continue
        try:
            found.append((name, dataset_classes(loader['dataset'])))
        except FileNotFoundError as err:
            absent.append(f'{name}: {_describe(loader["dataset"])} ({err})')
    if not found:
        raise InputNotFoundError(
            'cannot take the number of classes from the data: no dataset was found.\n  ' +
            '\n  '.join(absent) + '\nPoint the config at your data, e.g. --cfg-options '
            'train_dataloader.dataset.data_root=DIR val_dataloader.dataset.data_root=DIR')
    return found


def _check_same_classes(found: Sequence[Tuple[str, List[str]]]) -> None:
    reference_name, reference = found[0]
    for name, classes in found[1:]:
        if classes != reference:
            missing = sorted(set(reference) - set(classes))
            extra = sorted(set(classes) - set(reference))
            raise InvalidInputError(
                f'{name} has other classes than {reference_name}: missing {missing[:10]}, '
                f'extra {extra[:10]} (order: {classes[:10]} vs {reference[:10]}). Every '
                'split needs the same class subfolders, so that labels mean the same thing.')


def _trim_topk(evaluator, num_classes: int) -> None:
    evaluators = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    for metric in evaluators:
        if not isinstance(metric, dict) or metric.get('type') not in ('Accuracy',
                                                                      'mmpretrain.Accuracy'):
            continue
        topk = metric.get('topk', 1)
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        kept = tuple(k for k in topk if k <= num_classes) or (1, )
        if kept != topk:
            print_log(f'Accuracy top-k {topk} reduced to {kept}: there are only '
                      f'{num_classes} classes', 'current')
            metric['topk'] = kept


def set_num_classes_from_data(cfg: Config) -> List[str]:
    """Sets a classifier config's number of classes from its data, in place.

    The classes come from the first of the train, val and test datasets whose data exists;
    the others must have the same classes. Every split is then pinned to that class list.

    Args:
        cfg (Config): A config with ``model.head`` and dataloaders.

    Returns:
        list[str]: The class names.
    """
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        found = _available_classes(cfg)
    _check_same_classes(found)
    source, classes = found[0]
    num_classes = len(classes)
    print_log(f'{num_classes} classes in {_describe(cfg[source]["dataset"])}: '
              f'{classes[:20]}{" ..." if num_classes > 20 else ""}', 'current')

    cfg.model.head.num_classes = num_classes
    for preprocessor in (cfg.get('data_preprocessor'), cfg.model.get('data_preprocessor')):
        if isinstance(preprocessor, dict):
            preprocessor['num_classes'] = num_classes
    for name in DATALOADERS:
        dataset = (cfg.get(name) or {}).get('dataset')
        if isinstance(dataset, dict) and not (dataset.get('metainfo') or {}).get('classes'):
            dataset['metainfo'] = dict(dataset.get('metainfo') or {}, classes=classes)
    for name in EVALUATORS:
        if cfg.get(name):
            _trim_topk(cfg[name], num_classes)
    return classes


@RUNNERS.register_module()
class ClassesFromDataRunner(Runner):
    """A :class:`mmengine.runner.Runner` whose classifier has as many classes as its data.

    Select it with ``runner_type='ClassesFromDataRunner'``; the train and test tools build
    it from the registry. See :func:`set_num_classes_from_data`.
    """

    @classmethod
    def from_cfg(cls, cfg: Union[Config, ConfigDict, dict]) -> 'ClassesFromDataRunner':
        cfg = copy.deepcopy(cfg) if isinstance(cfg, Config) else Config(copy.deepcopy(dict(cfg)))
        set_num_classes_from_data(cfg)
        return super().from_cfg(cfg)
