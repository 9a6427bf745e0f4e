#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one run: official parity on the GPU (fp32, TF32 off),
# pretraining and sampling speed at ViT-B and ViT-L (tools/benchmark.py), a short
# mixed-precision training run and sampling through the tools, and the exact-resume tests with
# the runner on the GPU. Each step has its own time limit, so one failure does not hide the
# rest; every step's output goes to OUT_DIR/gpu_check.log.
#   bash tools/check_gpu.sh [OUT_DIR]
set -u
cd "$(dirname "$0")/.."
OUT_DIR="${1:-work_dirs/gpu_check}"
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/gpu_check.log"
PYTHON="${ADDP_PYTHON:-python}"
export PYTHONUNBUFFERED=1
failed=0

step() {  # step NAME SECONDS COMMAND...
    local name=$1 limit=$2 start rc
    shift 2
    echo "[check_gpu] $name" | tee -a "$LOG"
    start=$(date +%s)
    timeout "$limit" "$@" 2>&1 | tee -a "$LOG"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
    echo "[check_gpu] $name: exit $rc after $(( $(date +%s) - start )) s" | tee -a "$LOG"
}

step device 60 "$PYTHON" -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))"
step parity 180 "$PYTHON" tools/verify_official_parity.py tests/data/addp_official_tiny.pt \
    --device cuda
for arch in base large; do
    step "pretrain $arch bf16" 180 "$PYTHON" tools/benchmark.py pretrain --arch "$arch" \
        --device cuda --amp-dtype bfloat16 --batch-size 32 --mask-ratio 0.509 --iters 5
done
step "pretrain large bf16 with-cp" 180 "$PYTHON" tools/benchmark.py pretrain --arch large \
    --device cuda --amp-dtype bfloat16 --batch-size 32 --mask-ratio 0.509 --iters 5 --with-cp
step "generate large bf16 step 10" 180 "$PYTHON" tools/benchmark.py generate --arch large \
    --device cuda --amp-dtype bfloat16 --batch-size 64 --gen-step 10 --iters 5
step "generate large fp32 whole" 240 "$PYTHON" tools/benchmark.py generate --arch large \
    --device cuda --batch-size 64 --whole --warmup 0 --iters 1
step "train smoke run fp16" 240 "$PYTHON" tools/train.py configs/addp/smoke_tiny.py --amp \
    --work-dir "$OUT_DIR/smoke" --cfg-options train_cfg.max_epochs=2 \
    default_hooks.checkpoint.interval=1
step "sample smoke run" 120 "$PYTHON" tools/generate.py configs/addp/smoke_tiny.py \
    "$OUT_DIR/smoke/epoch_2.pth" --num-images 16 --batch-size 8 --num-steps 4 --device cuda \
    --out "$OUT_DIR/samples"
# One process each: two processes on one GPU is not a layout NCCL runs.
T=tests/test_resume_random_states.py
step "exact resume" 300 "$PYTHON" -m pytest -q -p no:cacheprovider \
    "$T::test_resumed_run_equals_uninterrupted_run[epochs-1]" \
    "$T::test_resumed_run_equals_uninterrupted_run[iters-1]" \
    "$T::test_resumed_run_equals_uninterrupted_run[epochs-workers-1]" \
    "$T::test_a_resumed_run_that_validates_equals_an_uninterrupted_one"
step "generate large bf16 compiled" 300 "$PYTHON" tools/benchmark.py generate --arch large \
    --device cuda --amp-dtype bfloat16 --batch-size 64 --gen-step 10 --iters 5 --compile
echo "[check_gpu] $failed step(s) failed; log: $LOG" | tee -a "$LOG"
exit $((failed > 0))
