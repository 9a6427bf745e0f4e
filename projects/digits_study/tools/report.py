"""Measures the digits demo with a judge that ADDP does not contain, and writes its report.

    python projects/digits_study/tools/report.py WORK_DIR [--data data/digits] [--seeds 0 1 2]

tools/run_demo.sh runs it last; see projects.digits_study.addp_study.report.
"""
import os.path as osp
import sys

# The repository root, so that the study's package imports as projects.digits_study.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from addp.cli import run_tool  # noqa: E402
from projects.digits_study.addp_study.report import main  # noqa: E402

if __name__ == '__main__':
    run_tool(main)
