#!/usr/bin/env bash
# Creates or reuses the project-local environment (.venv) with the full OpenMMLab stack.
# Usage: source tools/setup_env.sh   (or run it; it is idempotent and fast once built)
# Environment: ADDP_VENV (where), ADDP_PYTHON (which interpreter), ADDP_WHEEL_CACHE (built mmcv
# wheels), ADDP_MMCV_CUDA=1 (compile mmcv's CUDA ops too; needs nvcc, for GPU clusters).
set -euo pipefail

ADDP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADDP_VENV="${ADDP_VENV:-$ADDP_ROOT/.venv}"
ADDP_PYTHON="${ADDP_PYTHON:-python3}"
ADDP_WHEEL_CACHE="${ADDP_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/addp/wheels}"
MMCV_VERSION=2.1.0

req="$ADDP_ROOT/requirements"
stack_hash=$(cat "$req"/*.txt "$ADDP_ROOT/setup.py" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
stamp="$ADDP_VENV/.addp-stack-$stack_hash"

if [ ! -f "$stamp" ]; then
    echo "[setup_env] building $ADDP_VENV (stack $stack_hash)"
    [ -x "$ADDP_VENV/bin/python" ] || "$ADDP_PYTHON" -m venv "$ADDP_VENV"
    pip_install() { "$ADDP_VENV/bin/python" -m pip install -q -c "$req/constraints.txt" "$@"; }

    pip_install -r "$req/torch.txt" -r "$req/build.txt"

    # mmcv's ops exist only as source; pip's wheel cache ignores the torch version, so keep our own.
    py_tag=$("$ADDP_VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
    torch_version=$("$ADDP_VENV/bin/python" -c 'import torch; print(torch.__version__)')
    force_cuda="${ADDP_MMCV_CUDA:-0}"
    ops=$([ "$force_cuda" = 1 ] && echo cuda || echo cpu)
    mmcv_dir="$ADDP_WHEEL_CACHE/mmcv-$MMCV_VERSION-torch-$torch_version-$py_tag-$ops"
    if ! ls "$mmcv_dir"/mmcv-*.whl >/dev/null 2>&1; then
        echo "[setup_env] compiling mmcv $MMCV_VERSION with $ops ops (about 8-12 minutes on 2 cores)"
        build_dir=$(mktemp -d)
        trap 'rm -rf "$build_dir"' EXIT
        MMCV_WITH_OPS=1 FORCE_CUDA="$force_cuda" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            "$ADDP_VENV/bin/python" -m pip wheel -q --no-build-isolation --no-deps --no-cache-dir \
            -w "$build_dir" "mmcv==$MMCV_VERSION"
        mkdir -p "$ADDP_WHEEL_CACHE"
        # Publish atomically so an interrupted build never leaves a half-written wheel in the cache.
        staging=$(mktemp -d "$ADDP_WHEEL_CACHE/.staging.XXXXXX")
        mv "$build_dir"/mmcv-*.whl "$staging"/ && rm -rf "$build_dir"
        rm -rf "$mmcv_dir" && mv "$staging" "$mmcv_dir"
    fi
    pip_install "$mmcv_dir"/mmcv-*.whl
    pip_install -r "$req/mminstall.txt" -r "$req/runtime.txt" -r "$req/tests.txt" \
        -r "$req/lint.txt"
    pip_install --no-deps --no-build-isolation -e "$ADDP_ROOT"
    rm -f "$ADDP_VENV"/.addp-stack-*
    touch "$stamp"
    echo "[setup_env] ready"
fi

export PATH="$ADDP_VENV/bin:$PATH"
export VIRTUAL_ENV="$ADDP_VENV"
