#!/usr/bin/env bash
# Sets up the project environment if needed, lints the tree, then runs the whole test suite.
# Usage: bash tools/run_tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh
ruff check .
exec python -m pytest -n "${ADDP_TEST_WORKERS:-2}" "$@"
