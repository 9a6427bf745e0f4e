#!/usr/bin/env bash
# Sets up the project environment if needed, lints the tree, then runs the whole test suite.
# Debian's Chromium, for the web demo's browser tests, is installed alongside where it is
# missing and the user is root (tools/install_chromium.sh; CI runs as root).
# On a machine without the ops stage (mmcv's compiled ops, mmdet, mmseg), the core tests run
# while the ops compile at low priority in the background; the detection and segmentation
# tests (marker needs_ops) follow once the ops are installed.
# Usage: bash tools/run_tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS
mkdir -p work_dirs
bash tools/install_chromium.sh > work_dirs/install_chromium.log 2>&1 &
chromium_pid=$!
source tools/setup_env.sh --core
echo "[run_tests] environment ready after $((SECONDS - start)) s"
ruff check .
wait "$chromium_pid" || true
cat work_dirs/install_chromium.log
echo "[run_tests] lint passed; the tests start after $((SECONDS - start)) s"
# loadgroup: the browser tests share one browser on one worker; the rest spread as usual.
pytest_args=(-n "${ADDP_TEST_WORKERS:-2}" --dist loadgroup)
pytest_run() {  # pytest_run ARGS...: 5 (nothing selected) counts as success here
    local rc=0
    python -m pytest "${pytest_args[@]}" "$@" || rc=$?
    [ "$rc" = 5 ] && rc=0
    return "$rc"
}

if [ "$ADDP_OPS_STAGE" = ready ]; then
    exec python -m pytest "${pytest_args[@]}" "$@"
fi
build_log=work_dirs/ops_stage_build.log
echo "[run_tests] compiling mmcv's ops in the background (10-35 minutes on 2 cores; log: $build_log)"
nice -n 19 bash tools/setup_env.sh --build-ops-wheel > "$build_log" 2>&1 &
build_pid=$!
core_rc=0
pytest_run -m 'not needs_ops' "$@" || core_rc=$?
echo "[run_tests] core tests done after $((SECONDS - start)) s; waiting for the ops build"
wait "$build_pid" || { echo "[run_tests] the ops build failed, see $build_log" >&2; exit 1; }
source tools/setup_env.sh --with-ops
ops_rc=0
pytest_run -m needs_ops "$@" || ops_rc=$?
echo "[run_tests] all tests done after $((SECONDS - start)) s"
exit $((core_rc || ops_rc))
