#!/usr/bin/env bash
# Stress test of the distributed path on CPUs: tools/dist_train.sh with 2 processes on the smoke
# config (configs/addp/smoke_tiny.py), RUNS times in a row, while as many busy-looping processes
# as there are cores keep the machine loaded. Prints one line per failed run and the counts of
# aborts (SIGABRT, "terminate called") and other failures. Not part of the test suite.
# WORKERS > 0 adds dataloader workers, forked (mp_start_method='fork') by processes that
# already run gloo threads.
# Usage: bash tools/stress_dist_train.sh [RUNS (20)] [WORK_DIR (work_dirs/stress_dist_train)]
#                                        [WORKERS (0)]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh --core

runs="${1:-20}"
work_dir="${2:-work_dirs/stress_dist_train}"
workers="${3:-0}"
mkdir -p "$work_dir"
hogs=()
for _ in $(seq "$(nproc)"); do
    (while :; do :; done) &
    hogs+=($!)
done
trap 'kill "${hogs[@]}" 2>/dev/null' EXIT

aborts=0
failures=0
start=$SECONDS
for run in $(seq "$runs"); do
    log="$work_dir/run_$run.log"
    rm -rf "$work_dir/wd"
    PORT=$((29500 + run)) OMP_NUM_THREADS=1 bash tools/dist_train.sh configs/addp/smoke_tiny.py 2 \
        --work-dir "$work_dir/wd" --cfg-options "train_dataloader.num_workers=$workers" \
        > "$log" 2>&1
    code=$?
    if grep -q -e 'terminate called' -e 'exitcode: -6' -e 'SIGABRT' "$log"; then
        aborts=$((aborts + 1))
        echo "run $run: abort (exit $code), see $log"
    elif [ "$code" -ne 0 ]; then
        failures=$((failures + 1))
        echo "run $run: failed with exit $code, see $log"
    fi
done
echo "$runs runs with $workers dataloader workers each in $((SECONDS - start)) s under $(nproc)" \
    "busy processes: $aborts aborts, $failures other failures"
[ "$aborts" -eq 0 ] && [ "$failures" -eq 0 ]
