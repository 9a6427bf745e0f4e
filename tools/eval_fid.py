"""FID and IS (and precision/recall) of generated images against a reference folder.

    python tools/eval_fid.py OUT/images data/imagenet-val-256 \
        --feature-extractor-weights data/pretrained/weights-inception-2015-12-05-6726825d.pth

Against precomputed Inception statistics instead of a folder (the ADM reference batches that
recent papers report against hold ``mu`` and ``sigma``)::

    python tools/eval_fid.py OUT/images --ref-stats VIRTUAL_imagenet256_labeled.npz \
        --feature-extractor-weights data/pretrained/weights-inception-2015-12-05-6726825d.pth

Wraps torch-fidelity, offline: weights come from the given path or torch.hub's cache.
"""
import argparse
import importlib
import json

import torch

from addp.cli import run_tool
from addp.evaluation import (
    compute_generation_metrics,
    fid_against_statistics,
    load_reference_statistics,
)
from addp.image_io import save_json


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('generated', help='folder of generated images (OUT/images)')
    parser.add_argument('reference', nargs='?',
                        help='reference folder (tools/prepare_imagenet_val.py)')
    parser.add_argument('--ref-stats', metavar='FILE.npz',
                        help='FID against precomputed "mu" and "sigma" instead of a folder')
    parser.add_argument('--no-fid', dest='fid', action='store_false', help='skip FID')
    parser.add_argument('--no-isc', dest='isc', action='store_false', help='skip IS')
    parser.add_argument('--prc', action='store_true', help='also precision and recall')
    parser.add_argument('--feature-extractor', default='inception-v3-compat',
                        help='torch-fidelity extractor of FID and IS')
    parser.add_argument('--feature-extractor-weights', metavar='PATH',
                        help='its weights (offline); default: the torch.hub cache')
    parser.add_argument('--prc-feature-extractor', default='vgg16')
    parser.add_argument('--prc-weights', metavar='PATH',
                        help='weights of the precision/recall extractor (vgg16-397923af.pth)')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--isc-splits', type=int, default=10)
    parser.add_argument('--reference-cache-name',
                        help='cache the reference features in torch-fidelity\'s cache')
    parser.add_argument('--custom-imports', nargs='+', default=[], metavar='MODULE',
                        help='modules to import first, e.g. to register a feature extractor')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--out', metavar='FILE', help='also write the metrics as JSON')
    args = parser.parse_args(argv)
    if (args.reference is None) == (args.ref_stats is None):
        parser.error('give either a reference folder or --ref-stats FILE.npz')
    if args.ref_stats and args.prc:
        parser.error('--prc needs a reference folder, not --ref-stats')
    return args


def against_statistics(args) -> dict:
    """FID against --ref-stats, and IS of the generated folder."""
    # Read first, so that a bad file fails before any feature is extracted.
    reference = load_reference_statistics(args.ref_stats)
    metrics = {}
    if args.fid:
        metrics['fid'] = fid_against_statistics(
            args.generated, reference, args.feature_extractor, args.feature_extractor_weights,
            args.batch_size, args.device)
    if args.isc:
        metrics.update(compute_generation_metrics(
            args.generated, fid=False, isc=True, feature_extractor=args.feature_extractor,
            weights=args.feature_extractor_weights, batch_size=args.batch_size,
            device=args.device, isc_splits=args.isc_splits))
    return metrics


def main(argv=None) -> dict:
    args = parse_args(argv)
    for module in args.custom_imports:
        importlib.import_module(module)
    if args.ref_stats:
        metrics = against_statistics(args)
    else:
        metrics = compute_generation_metrics(
            args.generated, args.reference, fid=args.fid, isc=args.isc, prc=args.prc,
            feature_extractor=args.feature_extractor, weights=args.feature_extractor_weights,
            prc_feature_extractor=args.prc_feature_extractor, prc_weights=args.prc_weights,
            batch_size=args.batch_size, device=args.device, isc_splits=args.isc_splits,
            reference_cache_name=args.reference_cache_name)
    print(json.dumps(metrics, indent=2))
    if args.out:
        save_json(metrics, args.out)
    return metrics


if __name__ == '__main__':
    run_tool(main)
