#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one run of at most 10 minutes on an H100 or H200:
#   - no host synchronisation inside a training or sampling step (torch's sync debug mode);
#   - bit-exact kill-and-resume with the exact-resume switch (tools/train.py --deterministic);
#   - the ViT-B and ViT-L pretraining steps in bf16, plain and compiled (tools/benchmark.py);
#   - the whole 20-step ViT-L sampling run, fp32 as released.
# --all adds the longer checks (give them time: CHECK_GPU_SECONDS=1800): official parity on the
# GPU, activation checkpointing, a sampling step in bf16 plain and compiled, a short fp16
# training run sampled through the tools, and the other exact-resume cases. Each step has its
# own time limit, capped by what is left of the run's (CHECK_GPU_SECONDS, 600 by default), so
# one failure does not hide the rest; every step's output goes to OUT_DIR/gpu_check.log and
# each result is one line at the end. --dry-run prints the commands instead of running them.
#   bash tools/check_gpu.sh [--all] [--dry-run] [OUT_DIR]
set -u
cd "$(dirname "$0")/.."
ALL=0
DRY_RUN=0
OUT_DIR=work_dirs/gpu_check
for arg in "$@"; do
    case "$arg" in
        --all) ALL=1 ;;
        --dry-run) DRY_RUN=1 ;;
        -*) echo "unknown option $arg; usage: bash tools/check_gpu.sh [--all] [--dry-run] [OUT_DIR]" >&2
            exit 2 ;;
        *) OUT_DIR=$arg ;;
    esac
done
[ "$DRY_RUN" -eq 1 ] || mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/gpu_check.log"
PYTHON="${ADDP_PYTHON:-python}"
BUDGET="${CHECK_GPU_SECONDS:-600}"
export PYTHONUNBUFFERED=1
START=$(date +%s)
failed=0
SUMMARY=()

step() {  # step NAME SECONDS COMMAND...
    local name=$1 limit=$2 begin rc result left out
    shift 2
    if [ "$DRY_RUN" -eq 1 ]; then
        echo "[check_gpu] $name (limit ${limit} s): $*"
        return
    fi
    left=$((BUDGET - ($(date +%s) - START)))
    if [ "$left" -le 10 ]; then
        SUMMARY+=("$name: skipped, the run's ${BUDGET} s are spent")
        failed=$((failed + 1))
        return
    fi
    [ "$limit" -le "$left" ] || limit=$left
    echo "[check_gpu] $name" | tee -a "$LOG"
    out="$OUT_DIR/step.out"
    begin=$(date +%s)
    timeout "$limit" "$@" > "$out" 2>&1
    rc=$?
    cat "$out" >> "$LOG"
    # The step's result: the benchmark's rate line, pytest's summary, or the last line.
    result=$(grep -E 'images/s|[0-9]+ (passed|failed)|error' "$out" | tail -n 1)
    [ -n "$result" ] || result=$(tail -n 1 "$out")
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
    SUMMARY+=("$name: exit $rc after $(($(date +%s) - begin)) s | $result")
    echo "[check_gpu] $name: exit $rc" | tee -a "$LOG"
}

BENCH=("$PYTHON" tools/benchmark.py)
PRETRAIN=(--device cuda --amp-dtype bfloat16 --batch-size 32 --mask-ratio 0.509 --iters 5)
T=tests/test_resume_random_states.py

step device 60 "$PYTHON" -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))"
step "no host sync in a step" 90 "$PYTHON" -m pytest -q -p no:cacheprovider \
    tests/test_no_host_sync.py -k gpu
# One process each: two processes on one GPU is not a layout NCCL runs. Five short training
# runs: a resume split at a checkpoint, its uninterrupted reference, and the switch's check.
step "exact resume, --deterministic" 180 "$PYTHON" -m pytest -q -p no:cacheprovider \
    "$T::test_resumed_run_equals_uninterrupted_run[iters-deterministic-1]" \
    "$T::test_the_deterministic_switch_is_applied_before_training[flag]"
for arch in base large; do
    step "pretrain $arch bf16" 90 "${BENCH[@]}" pretrain --arch "$arch" "${PRETRAIN[@]}"
done
step "generate large fp32 whole" 150 "${BENCH[@]}" generate --arch large --device cuda \
    --batch-size 64 --whole --warmup 0 --iters 1
# Compiling takes the longest; last, so that a slow compile only cuts itself short.
for arch in base large; do
    step "pretrain $arch bf16 compiled" 180 "${BENCH[@]}" pretrain --arch "$arch" \
        "${PRETRAIN[@]}" --compile
done

if [ "$ALL" -eq 1 ]; then
    step parity 180 "$PYTHON" tools/verify_official_parity.py tests/data/addp_official_tiny.pt \
        --device cuda
    step "pretrain large bf16 with-cp" 180 "${BENCH[@]}" pretrain --arch large \
        "${PRETRAIN[@]}" --with-cp
    GEN_STEP=(generate --arch large --device cuda --amp-dtype bfloat16 --batch-size 64
              --gen-step 10 --iters 5)
    step "generate large bf16 step 10" 180 "${BENCH[@]}" "${GEN_STEP[@]}"
    step "generate large bf16 step 10 compiled" 300 "${BENCH[@]}" "${GEN_STEP[@]}" --compile
    step "train smoke run fp16" 240 "$PYTHON" tools/train.py configs/addp/smoke_tiny.py --amp \
        --work-dir "$OUT_DIR/smoke" --cfg-options train_cfg.max_epochs=2 \
        default_hooks.checkpoint.interval=1
    step "sample smoke run" 120 "$PYTHON" tools/generate.py configs/addp/smoke_tiny.py \
        "$OUT_DIR/smoke/epoch_2.pth" --num-images 16 --batch-size 8 --num-steps 4 \
        --device cuda --out "$OUT_DIR/samples"
    step "exact resume, more cases" 300 "$PYTHON" -m pytest -q -p no:cacheprovider \
        "$T::test_resumed_run_equals_uninterrupted_run[epochs-workers-deterministic-1]" \
        "$T::test_resumed_run_equals_uninterrupted_run[epochs-1]" \
        "$T::test_resumed_run_equals_uninterrupted_run[iters-1]" \
        "$T::test_a_resumed_run_that_validates_equals_an_uninterrupted_one"
fi

[ "$DRY_RUN" -eq 1 ] && exit 0
echo "[check_gpu] results ($(($(date +%s) - START)) s in all):" | tee -a "$LOG"
for line in "${SUMMARY[@]}"; do
    echo "  $line" | tee -a "$LOG"
done
echo "[check_gpu] $failed step(s) failed; log: $LOG" | tee -a "$LOG"
exit $((failed > 0))
