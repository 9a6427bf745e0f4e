#!/usr/bin/env bash
# The small-scale study "does pretraining help?" on scikit-learn's digits, on CPU: about
# 70 minutes on 2 cores. Not part of the tests.
#   1. tokenizer        configs/digits/vqgan_tiny_digits.py        (the quick recipe)
#   2. token predictor  configs/digits/mage_tiny_digits_long.py
#   3. ADDP             configs/digits/addp_tiny_digits_long.py    (400 epochs, kept every 27)
#   4. MAE baseline     configs/digits/mae_tiny_digits_long.py     (mmpretrain's MAE, same size)
#   5. measurements     tools/digits_study.py: fine-tuning, k-NN and samples at each length
# With --guidance, the class-conditional study instead (about 30 minutes):
#   1. tokenizer        as above
#   2. token predictor  configs/digits/mage_tiny_digits_cond.py    (class-conditional)
#   3. ADDP             configs/digits/addp_tiny_digits_cond.py    (its first 3,000 steps, 134
#                       epochs, to compare with the unconditional study's 134-epoch point)
#   4. measurements     tools/digits_guidance.py: class agreement and samples per guidance scale
# Resumable: a finished stage is skipped, a stopped training run resumes from its last
# checkpoint, and every measurement is cached. Same seed, same numbers.
# Usage: bash tools/run_study.sh [--guidance] [WORK_DIR]
#   (default work_dirs/digits_study, or work_dirs/digits_guidance)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
guidance=0
if [[ "${1:-}" == --guidance ]]; then
    guidance=1
    shift
fi
source tools/setup_env.sh --core

work_dir="${1:-work_dirs/digits_$([[ $guidance == 1 ]] && echo guidance || echo study)}"
data_root=data/digits
final_iters=9000
guidance_iters=3000
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
frozen=(--cfg-options "model.tokenizer.checkpoint=$work_dir/tokenizer.ckpt"
        "model.token_predictor.checkpoint=$work_dir/token_predictor.pth")
mkdir -p "$work_dir"
touch "$work_dir/stage_times.tsv"

stage() {  # stage NAME DONE_FILE COMMAND...: runs and times one step unless DONE_FILE exists
    local name=$1 done_file=$2 start=$SECONDS
    shift 2
    if [[ -e "$done_file" ]]; then
        echo "[study] $name: done before ($done_file)"
        return
    fi
    echo "[study] $name"
    "$@"
    echo "$name $((SECONDS - start))" >> "$work_dir/stage_times.tsv"
    echo "[study] $name: $((SECONDS - start)) s"
}
train() {  # train CONFIG STAGE_DIR [OPTIONS...]: resumes a run that stopped part-way
    local config=$1 stage_dir=$2
    shift 2
    local resume=()
    [[ -f "$stage_dir/last_checkpoint" ]] && resume=(--resume)
    python tools/train.py "$config" --work-dir "$stage_dir" "${resume[@]}" "$@"
}
export_part() {  # export_part STAGE_DIR KIND OUT: the trained part in its released layout
    python tools/convert_official_checkpoint.py "$(cat "$1/last_checkpoint")" "$3" --kind "$2" \
        --to-official --overwrite
}
tokenizer() {
    train configs/digits/vqgan_tiny_digits.py "$work_dir/tokenizer"
    export_part "$work_dir/tokenizer" tokenizer "$work_dir/tokenizer.ckpt"
}
token_predictor() {  # token_predictor CONFIG
    train "$1" "$work_dir/token_predictor" "${frozen[@]:0:2}"
    export_part "$work_dir/token_predictor" token_predictor "$work_dir/token_predictor.pth"
}

minutes=$([[ $guidance == 1 ]] && echo 30 || echo 70)
echo "[study] about $minutes minutes on 2 cores; stage times go to $work_dir/stage_times.tsv"
python tools/prepare_bundled_data.py "$data_root"
stage tokenizer "$work_dir/tokenizer.ckpt" tokenizer
if [[ $guidance == 1 ]]; then
    stage token_predictor "$work_dir/token_predictor.pth" \
        token_predictor configs/digits/mage_tiny_digits_cond.py
    stage addp "$work_dir/addp/iter_$guidance_iters.pth" \
        train configs/digits/addp_tiny_digits_cond.py "$work_dir/addp" "${frozen[@]}" \
        "train_cfg.max_iters=$guidance_iters"
    python tools/digits_guidance.py "$work_dir" --iters "$guidance_iters"
    echo "[study] done: $work_dir/guidance.md, $work_dir/guidance.png, $work_dir/guidance.json"
    exit 0
fi
stage token_predictor "$work_dir/token_predictor.pth" \
    token_predictor configs/digits/mage_tiny_digits_long.py
stage addp "$work_dir/addp/iter_$final_iters.pth" \
    train configs/digits/addp_tiny_digits_long.py "$work_dir/addp" "${frozen[@]}"
stage mae "$work_dir/mae/iter_$final_iters.pth" \
    train configs/digits/mae_tiny_digits_long.py "$work_dir/mae"
python tools/digits_study.py "$work_dir" --data "$data_root"
echo "[study] done: $work_dir/study.md, $work_dir/study.png, $work_dir/study.json"
