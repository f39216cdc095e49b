#!/usr/bin/env bash
# Runs the whole test suite (installing what it needs first, idempotently).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app,dev,notebooks
.venv/bin/ruff check .
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec .venv/bin/python -m pytest "$@"
