#!/usr/bin/env bash
# Runs the whole test suite (installing what it needs first, idempotently).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app,dev
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
