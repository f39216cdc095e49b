#!/usr/bin/env bash
# Runs the whole test suite (installing what it needs first, idempotently).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app,dev,notebooks
.venv/bin/ruff check .
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# Two worker processes (pytest-xdist): each test is single-threaded, so a 2-core machine
# runs the suite in about 4.5 min instead of 7.5; WORKBENCH_TEST_WORKERS=0 runs it in one
# process (e.g. with -x or pdb), =auto uses every core.
exec .venv/bin/python -m pytest -n "${WORKBENCH_TEST_WORKERS:-2}" "$@"
