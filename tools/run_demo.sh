#!/usr/bin/env bash
# The quick-start demo on real data: ADDP's three training stages at tiny size on
# scikit-learn's handwritten digits (shipped inside the wheel, no download), then sampling,
# fine-tuning and a report scored by an independent scikit-learn judge. CPU, under 10 minutes.
#   1. tokenizer        configs/digits/vqgan_tiny_digits.py
#   2. token predictor  configs/digits/mage_tiny_digits.py   (on the tokenizer's codes)
#   3. ADDP             configs/digits/addp_tiny_digits.py   (both frozen)
#   4. samples          tools/generate.py, and the same from untrained weights (the floor)
#   5. report           projects/digits_study/tools/report.py: judge, PSNR, fine-tune and linear probe
# Usage: bash tools/run_demo.sh [WORK_DIR]   (default work_dirs/digits_demo, which the digits
# configs read the frozen parts from)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh --core

work_dir="${1:-work_dirs/digits_demo}"
data_root=data/digits
num_samples=200
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
frozen=(--cfg-options "model.tokenizer.checkpoint=$work_dir/tokenizer.ckpt"
        "model.token_predictor.checkpoint=$work_dir/token_predictor.pth")
mkdir -p "$work_dir"
: > "$work_dir/stage_times.tsv"
echo "[demo] training, sampling and the report: usually 11-17 minutes on 2 cores"

stage() {  # stage NAME COMMAND...: runs and times one step
    local name=$1 start=$SECONDS
    shift
    echo "[demo] $name"
    "$@"
    echo "$name $((SECONDS - start))" >> "$work_dir/stage_times.tsv"
    echo "[demo] $name: $((SECONDS - start)) s"
}
last_checkpoint() { cat "$1/last_checkpoint"; }
export_part() {  # export_part STAGE_DIR KIND OUT: the trained part in its released layout
    python tools/convert_official_checkpoint.py "$(last_checkpoint "$1")" "$3" --kind "$2" \
        --to-official --overwrite
}

stage data python tools/prepare_bundled_data.py "$data_root"
stage tokenizer python tools/train.py configs/digits/vqgan_tiny_digits.py \
    --work-dir "$work_dir/tokenizer"
export_part "$work_dir/tokenizer" tokenizer "$work_dir/tokenizer.ckpt"
stage token_predictor python tools/train.py configs/digits/mage_tiny_digits.py \
    --work-dir "$work_dir/token_predictor" "${frozen[@]:0:2}"
export_part "$work_dir/token_predictor" token_predictor "$work_dir/token_predictor.pth"
stage addp python tools/train.py configs/digits/addp_tiny_digits.py \
    --work-dir "$work_dir/addp" "${frozen[@]}"
cp "$(last_checkpoint "$work_dir/addp")" "$work_dir/addp.pth"

sample() {  # sample CHECKPOINT OUT [CONFIG OPTIONS...]
    local checkpoint=$1 out=$2
    shift 2
    rm -rf "$out"
    python tools/generate.py configs/digits/addp_tiny_digits.py "$checkpoint" \
        --num-images "$num_samples" --batch-size 100 --num-steps 16 --out "$out" --device cpu "$@"
}
stage sampling sample "$work_dir/addp.pth" "$work_dir/samples" "${frozen[@]:0:2}"
python tools/write_untrained.py configs/digits/addp_tiny_digits.py "$work_dir/untrained"
stage sampling_untrained sample "$work_dir/untrained/addp.pth" "$work_dir/samples_untrained" \
    --cfg-options "model.tokenizer.checkpoint=$work_dir/untrained/tokenizer.ckpt"
python projects/digits_study/tools/report.py "$work_dir" --data "$data_root"
echo "[demo] done: $work_dir/report.md, $work_dir/digits.png, $work_dir/loss_curves.png"
