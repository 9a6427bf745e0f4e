"""Serves the ADDP web demo: Generate, Repaint and Classify with one model.

    python projects/gradio_demo/launch.py            # the digits demo's outputs, 127.0.0.1:7860

By default it reads what `bash tools/run_demo.sh` writes to work_dirs/digits_demo/. Any
other ADDP model works the same way, e.g. a released ViT-B on a GPU:

    python projects/gradio_demo/launch.py --config CONFIG --checkpoint ADDP.pth \
        --classifier-config FINETUNE_CONFIG --classifier-checkpoint FINETUNED.pth \
        --digit-grid 0 --device cuda
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from mmengine.config import DictAction  # noqa: E402

from addp.cli import run_tool  # noqa: E402
from projects.gradio_demo.addp_gradio import DemoModels, build_app, launch  # noqa: E402

DEMO_DIR = 'work_dirs/digits_demo'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=osp.join(ROOT, 'configs/digits/addp_tiny_digits.py'),
                        help='an ADDP config; its tokenizer entry names the tokenizer file')
    parser.add_argument('--checkpoint', default=osp.join(DEMO_DIR, 'addp.pth'),
                        help='ADDP weights, or a work dir with a last_checkpoint file')
    parser.add_argument('--classifier-config',
                        default=osp.join(ROOT, 'configs/digits/finetune_tiny_digits.py'),
                        help='an ImageClassifier config whose backbone is the ADDP encoder')
    parser.add_argument(
        '--classifier-checkpoint',
        default=osp.join(DEMO_DIR, 'classify/finetune_10_per_class_pretrained_seed0'),
        help='fine-tuned weights, or their work dir')
    parser.add_argument('--digit-grid', type=int, default=8,
                        help='the classifier reads digits recorded on this grid (8 for the '
                        'digits demo); 0 for a classifier of photos')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='overrides for the ADDP config, e.g. '
                        'model.tokenizer.checkpoint=FILE')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to serve on; 0.0.0.0 opens it to the network')
    parser.add_argument('--port', type=int, default=7860)
    return parser.parse_args(argv)


def demo_models(args: argparse.Namespace) -> DemoModels:
    return DemoModels(args.config, args.checkpoint, args.classifier_config,
                      args.classifier_checkpoint, args.cfg_options, args.digit_grid or None,
                      args.device)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    launch(build_app(demo_models(args)), args.host, args.port)
    return 0


if __name__ == '__main__':
    run_tool(main)
