#!/usr/bin/env bash
# The quick-start demo: sets up the environment if needed, pretrains the tiny ADDP on the
# embedded images, then samples a grid from the trained checkpoint. CPU, a few minutes.
# Usage: bash tools/run_demo.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh

work_dir="${1:-work_dirs/demo_tiny}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"  # tiny matrices: threads cost more than they give

echo "[demo] pretraining the tiny ADDP (configs/addp/demo_tiny.py) into $work_dir"
python tools/train.py configs/addp/demo_tiny.py --work-dir "$work_dir"

checkpoint="$(cat "$work_dir/last_checkpoint")"
echo "[demo] sampling 16 images from $checkpoint"
python tools/generate.py configs/addp/demo_tiny.py "$checkpoint" --num-images 16 \
    --batch-size 8 --out "$work_dir/samples" --device cpu

echo "[demo] done: checkpoints in $work_dir, images in $work_dir/samples/images," \
     "overview in $work_dir/samples/grid.png"
