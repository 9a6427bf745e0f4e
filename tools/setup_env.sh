#!/usr/bin/env bash
# Creates or reuses the project-local environment (.venv), in two stages.
#   core: torch, mmengine, mmpretrain, mmcv without its compiled ops, timm, scikit-learn,
#         torch-fidelity, Gradio and the test tools. The demo, the web demo, pretraining,
#         sampling, classification.
#   ops:  mmcv's C++ ops, mmdet and mmsegmentation, for projects/ (detection, segmentation).
#         mmcv has no prebuilt wheel for this torch, so the ops compile once per torch version
#         and are cached; the core stage installs that cached build whenever there is one.
# Usage: source tools/setup_env.sh [--core | --with-ops | --build-ops-wheel]   (or run it)
#   --core             the core stage only (the default; scripts pass it, or a sourced file
#                      would read their own arguments)
#   --with-ops         the core stage, then the ops stage
#   --build-ops-wheel  only compile the ops into the wheel cache (installs nothing)
# Environment: ADDP_VENV (where), ADDP_PYTHON (which interpreter), ADDP_WHEEL_CACHE (built mmcv
# wheels), ADDP_MMCV_CUDA=1 (compile mmcv's CUDA ops too; needs nvcc, for GPU clusters).
# Both stages leave stamps only after a check; an interrupted run is completed by the next one.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced: the set-up runs in a child shell, so the caller's shell options stay its own
    # and a failure returns instead of closing the caller's terminal.
    _addp_setup_sourced() {
        unset -f _addp_setup_sourced
        local env_file rc=0
        env_file=$(mktemp)
        ADDP_ENV_FILE="$env_file" bash "${BASH_SOURCE[0]}" "$@" || rc=$?
        [ "$rc" != 0 ] || source "$env_file"
        rm -f "$env_file"
        return "$rc"
    }
    _addp_setup_sourced "$@"
    return
fi
set -euo pipefail

ADDP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADDP_VENV="${ADDP_VENV:-$ADDP_ROOT/.venv}"
ADDP_PYTHON="${ADDP_PYTHON:-python3}"
ADDP_WHEEL_CACHE="${ADDP_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/addp/wheels}"
MMCV_VERSION=2.1.0
want_stage=core
case "${1:-}" in
    --with-ops) want_stage=ops ;;
    --build-ops-wheel) want_stage=wheel ;;
    --core | '') ;;
    *) echo "setup_env.sh: unknown option '$1'; use --core, --with-ops or --build-ops-wheel" >&2
       exit 2 ;;
esac

req="$ADDP_ROOT/requirements"
script_hash=$(cat "${BASH_SOURCE[0]}" "$req/constraints.txt" "$req/torch.txt" | sha256sum | cut -c1-8)
core_hash=$(cat "$req"/{build,mminstall,runtime,demo,tests,lint}.txt "$ADDP_ROOT/setup.py" \
    | sha256sum | cut -c1-8)
ops_hash=$(sha256sum < "$req/ops.txt" | cut -c1-8)
core_stamp="$ADDP_VENV/.addp-core-$script_hash-$core_hash"
ops_stamp="$ADDP_VENV/.addp-ops-$script_hash-$ops_hash"
mmcv_build_file="$ADDP_VENV/.addp-mmcv-build"  # which mmcv build is installed: lite or ops

step() {  # step DESCRIPTION ESTIMATE COMMAND...: prints what runs, its estimate and its time
    local what=$1 estimate=$2 start=$SECONDS
    shift 2
    echo "[setup_env] $what (usually $estimate) ..."
    "$@"
    echo "[setup_env] $what: done in $((SECONDS - start)) s"
}
pip_install() { "$ADDP_VENV/bin/python" -m pip install -q -c "$req/constraints.txt" "$@"; }
venv_python() { "$ADDP_VENV/bin/python" "$@"; }

ops_wheel_dir() {
    local py_tag torch_version kind
    py_tag=$(venv_python -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
    torch_version=$(venv_python -c 'import torch; print(torch.__version__)')
    kind=$([ "${ADDP_MMCV_CUDA:-0}" = 1 ] && echo cuda || echo cpu)
    echo "$ADDP_WHEEL_CACHE/mmcv-$MMCV_VERSION-torch-$torch_version-$py_tag-$kind"
}
lite_wheel_dir() { echo "$ADDP_WHEEL_CACHE/mmcv-$MMCV_VERSION-lite"; }

build_mmcv_wheel() {  # build_mmcv_wheel DIR WITH_OPS SOURCE: builds into DIR, atomically
    local dir=$1 with_ops=$2 source=$3 build_dir staging
    build_dir=$(mktemp -d)
    MMCV_WITH_OPS="$with_ops" FORCE_CUDA="${ADDP_MMCV_CUDA:-0}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        venv_python -m pip wheel -q --no-build-isolation --no-deps --no-cache-dir \
        -w "$build_dir" "$source"
    mkdir -p "$ADDP_WHEEL_CACHE"
    # Rename into place, so an interrupted build never leaves a half-written wheel in the cache.
    staging=$(mktemp -d "$ADDP_WHEEL_CACHE/.staging.XXXXXX")
    mv "$build_dir"/mmcv-*.whl "$staging"/ && rm -rf "$build_dir"
    rm -rf "$dir" && mv "$staging" "$dir"
}
build_lite_mmcv_wheel() {
    local src
    src=$(mktemp -d)
    venv_python -m pip download -q --no-deps --no-binary :all: -d "$src" "mmcv==$MMCV_VERSION"
    tar xzf "$src"/mmcv-*.tar.gz -C "$src"
    # Built without ops, mmcv calls itself mmcv-lite, which mmpretrain's `mmcv` requirement
    # does not accept; keep the name, so that both builds are the one distribution mmcv.
    sed -i "s/name='mmcv' if os.getenv('MMCV_WITH_OPS', '1') == '1' else 'mmcv-lite'/name='mmcv'/" \
        "$src/mmcv-$MMCV_VERSION/setup.py"
    grep -q "name='mmcv'," "$src/mmcv-$MMCV_VERSION/setup.py" || {
        echo "[setup_env] mmcv's setup.py changed; cannot build it without ops" >&2; return 1; }
    build_mmcv_wheel "$(lite_wheel_dir)" 0 "$src/mmcv-$MMCV_VERSION"
    rm -rf "$src"
}
has_wheel() { ls "$1"/mmcv-*.whl >/dev/null 2>&1; }

install_mmcv() {  # install_mmcv lite|ops: swaps the installed mmcv build (checked by the caller)
    local kind=$1 dir
    dir=$([ "$kind" = ops ] && ops_wheel_dir || lite_wheel_dir)
    # The stamps go first: if the swap is interrupted, the next run installs mmcv again.
    rm -f "$ADDP_VENV"/.addp-core-* "$ADDP_VENV"/.addp-ops-* "$mmcv_build_file"
    pip_install --force-reinstall --no-deps "$dir"/mmcv-*.whl
}
check_mmcv() {  # check_mmcv lite|ops: mmcv imports (with its ops where compiled); records it
    local kind=$1 probe='import mmcv'
    [ "$kind" = ops ] && probe='import mmcv.ops'
    venv_python -c "$probe" || {
        echo "[setup_env] the installed mmcv ($kind) does not load; delete its wheel in" \
             "$ADDP_WHEEL_CACHE and rerun" >&2
        return 1; }
    echo "$kind" > "$mmcv_build_file"
}

build_ops_wheel_if_missing() {
    local dir
    dir=$(ops_wheel_dir)
    has_wheel "$dir" || step "compiling mmcv's C++ ops, once per torch version" \
        "10-35 minutes on 2 cores" build_mmcv_wheel "$dir" 1 "mmcv==$MMCV_VERSION"
}

if [ ! -f "$core_stamp" ]; then
    echo "[setup_env] core stage in $ADDP_VENV"
    [ -x "$ADDP_VENV/bin/python" ] || "$ADDP_PYTHON" -m venv "$ADDP_VENV"
    step "torch, torchvision and build tools" "1-3 minutes, mostly the 3 GB download" \
        pip_install -r "$req/torch.txt" -r "$req/build.txt"
    # A compiled build, once there is one, serves both stages; else mmcv's pure-Python build.
    if has_wheel "$(ops_wheel_dir)"; then
        mmcv_kind=ops
    else
        mmcv_kind=lite
        has_wheel "$(lite_wheel_dir)" || step "mmcv without its ops" "10 seconds" \
            build_lite_mmcv_wheel
    fi
    [ "$(cat "$mmcv_build_file" 2>/dev/null)" = "$mmcv_kind" ] || install_mmcv "$mmcv_kind"
    step "mmengine, mmpretrain, scikit-learn, torch-fidelity, Gradio, test and lint tools" \
        "1 minute" pip_install -r "$req/mminstall.txt" -r "$req/runtime.txt" \
        -r "$req/demo.txt" -r "$req/tests.txt" -r "$req/lint.txt"
    pip_install --no-deps --no-build-isolation -e "$ADDP_ROOT"
    venv_python -c 'import addp.models, mmpretrain.models'
    check_mmcv "$mmcv_kind"
    rm -f "$ADDP_VENV"/.addp-core-*
    touch "$core_stamp"
    echo "[setup_env] core stage ready"
fi

if [ "$want_stage" = wheel ]; then
    build_ops_wheel_if_missing
elif [ "$want_stage" = ops ] && [ ! -f "$ops_stamp" ]; then
    echo "[setup_env] ops stage: mmcv's compiled ops, mmdet and mmsegmentation"
    build_ops_wheel_if_missing
    [ "$(cat "$mmcv_build_file" 2>/dev/null)" = ops ] || install_mmcv ops
    step "mmdet and mmsegmentation" "1 minute" pip_install -r "$req/ops.txt"
    check_mmcv ops
    venv_python -c 'import mmdet.models, mmseg.models'
    touch "$core_stamp" "$ops_stamp"
    echo "[setup_env] ops stage ready"
fi

# What a sourcing shell gets: the environment on its PATH, and whether the ops stage (what
# tools/run_tests.sh asks) is installed.
if [ -n "${ADDP_ENV_FILE:-}" ]; then
    printf 'export PATH=%q\nexport VIRTUAL_ENV=%q\nexport ADDP_OPS_STAGE=%q\n' \
        "$ADDP_VENV/bin:$PATH" "$ADDP_VENV" "$([ -f "$ops_stamp" ] && echo ready || echo missing)" \
        > "$ADDP_ENV_FILE"
fi
