"""The reconstruction panel of the two token layouts, for each folder.

    python projects/digits_study/tools/reconstructions.py OUT.png \
        --folder NAME ROOT CKPT_4X4 CKPT_8X8 [--folder ...]

See projects.digits_study.addp_study.reconstructions.
"""
import os.path as osp
import sys

# The repository root, so that the study's package imports as projects.digits_study.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from addp.cli import run_tool  # noqa: E402
from projects.digits_study.addp_study.reconstructions import main  # noqa: E402

if __name__ == '__main__':
    run_tool(main)
