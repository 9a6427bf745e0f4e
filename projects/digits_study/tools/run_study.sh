#!/usr/bin/env bash
# The small-scale study "does pretraining help?" on scikit-learn's digits, on CPU: about
# 70 minutes on 2 cores. Not part of the tests. Configs in $study/configs/
# unless named in full:
#   1. tokenizer        configs/digits/vqgan_tiny_digits.py   (the quick recipe)
#   2. token predictor  mage_tiny_digits_long.py
#   3. ADDP             addp_tiny_digits_long.py              (400 epochs, kept every 27)
#   4. MAE baseline     mae_tiny_digits_long.py               (mmpretrain's MAE, same size)
#   5. measurements     tools/study.py here: fine-tuning, k-NN and samples at each length
# With --guidance, the class-conditional study instead (about 30 minutes):
#   1. tokenizer        as above
#   2. token predictor  mage_tiny_digits_cond.py              (class-conditional)
#   3. ADDP             addp_tiny_digits_cond.py              (its first 3,000 steps, 134
#                       epochs, to compare with the unconditional study's 134-epoch point)
#   4. measurements     tools/guidance.py here: class agreement and samples per guidance scale
# With --mnist, the study on MNIST-5k (28 px padded to 32; 4,000 train, 1,000 test) at the
# 8 x 8 grid of 256 codes, about 2 hours (configs in $study/configs/mnist/):
#   1. tokenizer        configs/digits/vqgan_tiny_grid8.py on data/mnist
#   2. token predictor  mage_tiny_mnist_grid8.py
#   3. ADDP             addp_tiny_mnist_grid8.py              (1,800 steps, kept every 600)
#   4. MAE baseline     mae_tiny_mnist_grid8.py               (4 px patches, same steps)
#   5. the 4 x 4 / 32 arm in WORK_DIR/mnist_grid4/, beside 1-4: configs/digits/
#      vqgan_tiny_digits.py on data/mnist, mage_tiny_mnist.py, addp_tiny_mnist.py (1,800
#      steps), then its measurements
#   6. measurements     tools/study.py --setup mnist_grid8
# Resumable: a finished stage is skipped while its key (resolved config and cfg-options, the
# frozen files it reads, the data split) is unchanged, a stopped training run resumes from its
# last checkpoint, and every measurement is cached with the key of what produced it. A stage
# whose key changed trains from scratch; its earlier outputs are moved aside, not deleted
# (python -m addp.measurement_cache stage-check). Same seed, same numbers.
# With --device cuda, training, fine-tuning and the study's encoders and sampling run on the
# GPU, in a work dir of their own (default name + _cuda); --device cpu (the default) keeps
# every step on the CPU even where a GPU is visible.
# Usage: bash projects/digits_study/tools/run_study.sh [--guidance | --mnist]
#            [--device cpu|cuda] [WORK_DIR]
#   (default work_dirs/digits_study, work_dirs/digits_guidance or work_dirs/mnist_study)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
mode=study device=cpu work_dir=
while [[ $# -gt 0 ]]; do
    case $1 in
        --guidance) mode=guidance ;;
        --mnist) mode=mnist ;;
        --device) [[ $# -ge 2 ]] || { echo "run_study.sh: --device needs cpu or cuda" >&2; exit 2; }
                  device=$2; shift ;;
        -*) echo "run_study.sh: unknown option $1 (see the usage at the top of $0)" >&2; exit 2 ;;
        *) work_dir=$1 ;;
    esac
    shift
done
case $device in
    cpu) suffix= ;;
    cuda) suffix=_cuda ;;
    *) echo "run_study.sh: --device takes cpu or cuda, got '$device'" >&2; exit 2 ;;
esac
source tools/setup_env.sh --core
study=projects/digits_study
if [[ $device == cpu ]]; then
    export CUDA_VISIBLE_DEVICES=  # CPU numbers even where a GPU is visible
elif ! python -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    echo "run_study.sh: --device cuda, but no CUDA GPU is visible; use --device cpu" >&2
    exit 2
fi

case $mode in
    study) work_dir="${work_dir:-work_dirs/digits_study$suffix}"; data_root=data/digits ;;
    guidance) work_dir="${work_dir:-work_dirs/digits_guidance$suffix}"; data_root=data/digits ;;
    mnist) work_dir="${work_dir:-work_dirs/mnist_study$suffix}"; data_root=data/mnist ;;
esac
final_iters=9000
mnist_iters=1800  # mnist_study.py's mnist_max_iters
guidance_iters=3000
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
frozen=("model.tokenizer.checkpoint=$work_dir/tokenizer.ckpt"
        "model.token_predictor.checkpoint=$work_dir/token_predictor.pth")
mkdir -p "$work_dir"
touch "$work_dir/stage_times.tsv"

stage() {  # stage NAME DONE_FILE EXPORT_KIND CONFIG [CFG_OPTION...]: trains CONFIG in
           # WORK_DIR/NAME and exports the part EXPORT_KIND (- for none) to DONE_FILE, unless
           # DONE_FILE was made with the same key; times it
    local name=$1 done_file=$2 kind=$3 config=$4 start=$SECONDS status=0
    shift 4
    python -m addp.measurement_cache stage-check "$config" "$work_dir/$name" "$done_file" \
        --cfg-options "$@" --inputs "$data_root/meta/train.txt" --prefix "[study]" \
        || status=$?
    case $status in
        0) return ;;
        3) ;;
        *) exit "$status" ;;
    esac
    echo "[study] $name"
    train "$config" "$work_dir/$name" "$@"
    [[ $kind == - ]] || export_part "$work_dir/$name" "$kind" "$done_file"
    echo "$name $((SECONDS - start))" >> "$work_dir/stage_times.tsv"
    echo "[study] $name: $((SECONDS - start)) s"
}
train() {  # train CONFIG STAGE_DIR [CFG_OPTION...]: resumes a run that stopped part-way
    local config=$1 stage_dir=$2
    shift 2
    local resume=() options=()
    [[ -f "$stage_dir/last_checkpoint" ]] && resume=(--resume)
    [[ $# -gt 0 ]] && options=(--cfg-options "$@")
    python tools/train.py "$config" --work-dir "$stage_dir" "${resume[@]}" "${options[@]}"
}
export_part() {  # export_part STAGE_DIR KIND OUT: the trained part in its released layout
    python tools/convert_official_checkpoint.py "$(cat "$1/last_checkpoint")" "$3" --kind "$2" \
        --to-official --overwrite
}

minutes=$(case $mode in study) echo 70 ;; guidance) echo 30 ;; mnist) echo 120 ;; esac)
echo "[study] about $minutes minutes on 2 cores; stage times go to $work_dir/stage_times.tsv"
if [[ $mode == mnist ]]; then
    python tools/prepare_bundled_data.py "$data_root" --dataset mnist
    on_mnist=("train_dataloader.dataset.data_root=$data_root"
              "val_dataloader.dataset.data_root=$data_root"
              "test_dataloader.dataset.data_root=$data_root")
    mnist=$study/configs/mnist
    arm=$work_dir/mnist_grid4
    arm_frozen=("model.tokenizer.checkpoint=$arm/tokenizer.ckpt"
                "model.token_predictor.checkpoint=$arm/token_predictor.pth")
    # Two chains side by side, a thread each (together faster than one after the other at
    # two): the 4 x 4 arm, trained and measured, and the fine layout's training with MAE.
    export OMP_NUM_THREADS=1
    set -m  # the arm's chain in its own process group, stopped with the script
    (
        stage mnist_grid4/tokenizer "$arm/tokenizer.ckpt" tokenizer \
            configs/digits/vqgan_tiny_digits.py "${on_mnist[@]}"
        stage mnist_grid4/token_predictor "$arm/token_predictor.pth" token_predictor \
            $mnist/mage_tiny_mnist.py "${arm_frozen[0]}"
        stage mnist_grid4/addp "$arm/addp/iter_$mnist_iters.pth" - $mnist/addp_tiny_mnist.py \
            "${arm_frozen[@]}"
        python $study/tools/study.py "$arm" --setup mnist_grid4 --data "$data_root" \
            --device "$device" --measure-only
    ) > "$work_dir/mnist_grid4.log" 2>&1 &
    arm_pid=$!
    set +m
    trap 'kill -- -$arm_pid 2> /dev/null || true' EXIT
    echo "[study] the 4 x 4 arm trains and is measured beside: $work_dir/mnist_grid4.log"
    stage tokenizer "$work_dir/tokenizer.ckpt" tokenizer configs/digits/vqgan_tiny_grid8.py \
        "${on_mnist[@]}"
    stage token_predictor "$work_dir/token_predictor.pth" token_predictor \
        $mnist/mage_tiny_mnist_grid8.py "${frozen[0]}"
    stage addp "$work_dir/addp/iter_$mnist_iters.pth" - $mnist/addp_tiny_mnist_grid8.py "${frozen[@]}"
    stage mae "$work_dir/mae/iter_$mnist_iters.pth" - $mnist/mae_tiny_mnist_grid8.py
    wait "$arm_pid" || { echo "[study] the 4 x 4 arm stopped: see $work_dir/mnist_grid4.log"
                         exit 1; }
    trap - EXIT
    export OMP_NUM_THREADS=2
    python $study/tools/study.py "$work_dir" --setup mnist_grid8 --data "$data_root" \
        --device "$device"
    echo "[study] done: $work_dir/study.md, $work_dir/study.png, $work_dir/study.json"
    echo "[study] to copy its tables into $study/README.md: python $study/tools/study.py" \
        "$work_dir --setup mnist_grid8 --update-doc $study/README.md (its measurements are cached)"
    exit 0
fi
python tools/prepare_bundled_data.py "$data_root"
stage tokenizer "$work_dir/tokenizer.ckpt" tokenizer configs/digits/vqgan_tiny_digits.py
if [[ $mode == guidance ]]; then
    stage token_predictor "$work_dir/token_predictor.pth" token_predictor \
        $study/configs/mage_tiny_digits_cond.py "${frozen[0]}"
    stage addp "$work_dir/addp/iter_$guidance_iters.pth" - $study/configs/addp_tiny_digits_cond.py \
        "${frozen[@]}" "train_cfg.max_iters=$guidance_iters"
    python $study/tools/guidance.py "$work_dir" --iters "$guidance_iters"
    echo "[study] done: $work_dir/guidance.md, $work_dir/guidance.png, $work_dir/guidance.json"
    echo "[study] to copy its table into $study/README.md: python $study/tools/guidance.py $work_dir" \
        "--iters $guidance_iters --update-doc $study/README.md (its measurements are cached)"
    exit 0
fi
stage token_predictor "$work_dir/token_predictor.pth" token_predictor \
    $study/configs/mage_tiny_digits_long.py "${frozen[0]}"
stage addp "$work_dir/addp/iter_$final_iters.pth" - $study/configs/addp_tiny_digits_long.py \
    "${frozen[@]}"
stage mae "$work_dir/mae/iter_$final_iters.pth" - $study/configs/mae_tiny_digits_long.py
python $study/tools/study.py "$work_dir" --data "$data_root" --device "$device"
echo "[study] done: $work_dir/study.md, $work_dir/study.png, $work_dir/study.json"
echo "[study] to copy its tables into $study/README.md: python $study/tools/study.py $work_dir" \
    "--data $data_root --update-doc $study/README.md (its measurements are cached)"
