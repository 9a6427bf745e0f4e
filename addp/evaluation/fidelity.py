"""FID, Inception Score, precision and recall of an image folder, with torch-fidelity, offline.

torch-fidelity downloads feature-extractor weights when it is given no path; clusters are
often offline, so here a weights file is always resolved first: the path given, else the
file torch.hub would have cached, else an error that says where to get it. Nothing is
downloaded.
"""
import os
import os.path as osp
from typing import Dict, Optional
from urllib.parse import urlparse

import numpy as np
import torch
import torch_fidelity
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
from torch_fidelity.metric_fid import (
    KEY_METRIC_FID,
    fid_input_id_to_statistics,
    fid_statistics_to_metric,
)
from torch_fidelity.utils import create_feature_extractor, resolve_feature_layer_for_metric

from addp.errors import InputNotFoundError, InvalidInputError

# The ImageNet VGG16 that torch-fidelity loads through torchvision for precision/recall.
URL_VGG16 = 'https://download.pytorch.org/models/vgg16-397923af.pth'
WEIGHT_URLS = {'inception-v3-compat': URL_INCEPTION_V3, 'vgg16': URL_VGG16}
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg')
# torch-fidelity's result keys, shortened.
METRIC_NAMES = {
    'frechet_inception_distance': 'fid',
    'inception_score_mean': 'is_mean',
    'inception_score_std': 'is_std',
    'precision': 'precision',
    'recall': 'recall',
    'f_score': 'f_score',
}


def resolve_weights(feature_extractor: str, path: Optional[str], option: str) -> str:
    """The local weights file of a feature extractor.

    Args:
        feature_extractor (str): A torch-fidelity feature extractor name.
        path (str, optional): Given by the user.
        option (str): The command-line option that sets ``path``, for messages.

    Raises:
        FileNotFoundError: When no local file is found; names the download address.
    """
    if path is not None:
        if not osp.isfile(path):
            raise InputNotFoundError(f'{option} {path!r}: no such file')
        return path
    url = WEIGHT_URLS.get(feature_extractor)
    if url is None:
        raise InputNotFoundError(f'the feature extractor {feature_extractor!r} needs its weights '
                                 f'file: pass {option} PATH')
    cached = osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(url).path))
    if osp.isfile(cached):
        return cached
    raise InputNotFoundError(
        f'no local weights for {feature_extractor!r}. Download {url} on a machine with '
        f'internet access, then pass {option} PATH or copy it to {cached}; this tool never '
        'downloads.')


def count_images(folder: str) -> int:
    """Images directly inside ``folder`` (as torch-fidelity finds them), with clear errors."""
    if not osp.isdir(folder):
        raise InputNotFoundError(f'image folder not found: {folder!r}')
    count = sum(f.lower().endswith(IMAGE_EXTENSIONS) for f in os.listdir(folder))
    if count == 0:
        raise InvalidInputError(
            f'{folder!r} holds no .png/.jpg images (sub-folders are not searched; '
            'for tools/generate.py output pass OUT/images)')
    return count


def compute_generation_metrics(generated: str,
                               reference: Optional[str] = None,
                               fid: bool = True,
                               isc: bool = True,
                               prc: bool = False,
                               feature_extractor: str = 'inception-v3-compat',
                               weights: Optional[str] = None,
                               prc_feature_extractor: str = 'vgg16',
                               prc_weights: Optional[str] = None,
                               batch_size: int = 64,
                               device: str = 'cpu',
                               isc_splits: int = 10,
                               reference_cache_name: Optional[str] = None,
                               verbose: bool = True) -> Dict[str, float]:
    """Scores generated images against a reference folder, as ``fidelity --fid --isc`` does.

    Args:
        generated (str): Folder of generated images.
        reference (str, optional): Folder of reference images; needed by FID and PRC.
        fid (bool): Frechet Inception Distance.
        isc (bool): Inception Score of ``generated``.
        prc (bool): Precision and recall (VGG16 features, as torch-fidelity defines them).
        feature_extractor (str): Extractor of FID and IS; any registered in torch-fidelity.
        weights (str, optional): Its weights file; see :func:`resolve_weights`.
        prc_feature_extractor (str): Extractor of precision and recall.
        prc_weights (str, optional): Its weights file.
        batch_size (int): Images per forward pass.
        device (str): ``'cuda'`` or ``'cpu'``.
        isc_splits (int): Splits of the Inception Score (10 as released).
        reference_cache_name (str, optional): Cache the reference features under this name in
            torch-fidelity's cache, so that later runs skip them.
        verbose (bool): torch-fidelity's progress output.

    Returns:
        dict: Some of ``fid``, ``is_mean``, ``is_std``, ``precision``, ``recall``, ``f_score``.
    """
    if not (fid or isc or prc):
        raise InvalidInputError('nothing to compute: enable at least one of FID, IS and PRC')
    count_images(generated)
    if fid or prc:
        if reference is None:
            raise InvalidInputError('FID and precision/recall need a reference folder')
        count_images(reference)
    common = dict(input1=generated, cuda=device.startswith('cuda'), batch_size=batch_size,
                  verbose=verbose, isc_splits=isc_splits, input2_cache_name=reference_cache_name,
                  samples_find_deep=False)
    raw = {}
    if fid or isc:
        path = resolve_weights(feature_extractor, weights, '--feature-extractor-weights')
        raw.update(torch_fidelity.calculate_metrics(
            **common, input2=reference if fid else None, fid=fid, isc=isc,
            feature_extractor=feature_extractor, feature_extractor_weights_path=path))
    if prc:
        path = resolve_weights(prc_feature_extractor, prc_weights, '--prc-weights')
        cache_name = reference_cache_name and f'{reference_cache_name}-prc'
        raw.update(torch_fidelity.calculate_metrics(
            **dict(common, input2_cache_name=cache_name), input2=reference, prc=True,
            feature_extractor=prc_feature_extractor, feature_extractor_weights_path=path))
    return {METRIC_NAMES[k]: float(v) for k, v in raw.items() if k in METRIC_NAMES}


def load_reference_statistics(path: str) -> Dict[str, np.ndarray]:
    """``mu`` (D, ) and ``sigma`` (D, D) of precomputed Inception features, such as the ADM
    reference batches (``VIRTUAL_imagenet256_labeled.npz``).

    Raises:
        FileNotFoundError: No such file.
        ValueError: A key is missing, or the shapes do not describe one Gaussian.
    """
    if not osp.isfile(path):
        raise InputNotFoundError(
            f'--ref-stats {path!r}: no such file')
    try:
        with np.load(path) as archive:
            found = {k: archive[k] for k in archive.files if k in ('mu', 'sigma')}
            keys = sorted(archive.files)
    except (OSError, ValueError) as err:
        raise InvalidInputError(
            f'--ref-stats {path!r} is not a readable .npz file ({err})') from err
    missing = [k for k in ('mu', 'sigma') if k not in found]
    if missing:
        raise InvalidInputError(
            f'--ref-stats {path!r} lacks {missing}; it has {keys}. It needs "mu" '
            '(D,) and "sigma" (D, D), the mean and covariance of the features')
    mu, sigma = found['mu'].astype(np.float64), found['sigma'].astype(np.float64)
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise InvalidInputError(f'--ref-stats {path!r}: "mu" has shape {mu.shape} and "sigma" '
                                f'{sigma.shape}; expected (D,) and (D, D)')
    return dict(mu=mu, sigma=sigma)


def fid_against_statistics(generated: str, reference: Dict[str, np.ndarray],
                           feature_extractor: str = 'inception-v3-compat',
                           weights: Optional[str] = None, batch_size: int = 64,
                           device: str = 'cpu', verbose: bool = True) -> float:
    """FID of an image folder against precomputed statistics (:func:`load_reference_statistics`).

    Raises:
        ValueError: The statistics have another feature width than the extractor's FID layer.
    """
    count_images(generated)
    kwargs = dict(input1=generated, cuda=device.startswith('cuda'), batch_size=batch_size,
                  verbose=verbose, samples_find_deep=False, fid=True,
                  feature_extractor=feature_extractor,
                  feature_extractor_weights_path=resolve_weights(
                      feature_extractor, weights, '--feature-extractor-weights'))
    layer = resolve_feature_layer_for_metric('fid', **kwargs)
    extractor = create_feature_extractor(feature_extractor, [layer], **kwargs)
    ours = fid_input_id_to_statistics(1, extractor, layer, **kwargs)
    ours = {k: v.astype(np.float64) for k, v in ours.items()}
    if ours['mu'].shape != reference['mu'].shape:
        raise InvalidInputError(
            f'the reference statistics have {reference["mu"].shape[0]} features, '
            f'but {feature_extractor} layer {layer!r} gives '
            f'{ours["mu"].shape[0]}; compute both with the same extractor')
    return float(fid_statistics_to_metric(ours, reference, verbose)[KEY_METRIC_FID])
