"""The small-scale study on scikit-learn's digits, and the digits demo's report: a judge that
ADDP does not contain, the measurements and the pictures. Its scripts are in ../tools/."""
import os.path as osp

PROJECT_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(PROJECT_DIR))
# The recipes of the digits demo, and the study's own (long, class-conditional, MAE).
DEMO_CONFIGS = osp.join(REPO, 'configs', 'digits')
STUDY_CONFIGS = osp.join(PROJECT_DIR, 'configs')
