"""Class-conditional digits: does the judge see the class asked for, at which guidance scale?

    python projects/digits_study/tools/guidance.py WORK_DIR [--iters 3000]
        [--scales 0 1 2 3 5] [--seeds 0 1 2] [--update-doc DOC]

run_study.sh --guidance runs it last; see projects.digits_study.addp_study.guidance.
"""
import os.path as osp
import sys

# The repository root, so that the study's package imports as projects.digits_study.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from addp.cli import run_tool  # noqa: E402
from projects.digits_study.addp_study.guidance import main  # noqa: E402

if __name__ == '__main__':
    run_tool(main)
