"""Does ADDP pretraining help? Measures what run_study.sh trained, and writes the study.

    python projects/digits_study/tools/study.py WORK_DIR [--data data/digits]
        [--iters 600 3000 6000 9000] [--seeds 0 1 2] [--update-doc DOC]

run_study.sh runs it last; see projects.digits_study.addp_study.study.
"""
import os.path as osp
import sys

# The repository root, so that the study's package imports as projects.digits_study.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from addp.cli import run_tool  # noqa: E402
from projects.digits_study.addp_study.study import main  # noqa: E402

if __name__ == '__main__':
    run_tool(main)
