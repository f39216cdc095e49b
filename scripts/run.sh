#!/usr/bin/env bash
# The main job: installs what it needs (idempotently), then runs a default comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app,dev
exec .venv/bin/python -m workbench compare --dataset digits --imbalance longtail:ratio=50 \
  --schemes "uniform;inverse_frequency;linupper" --seeds 0,1,2 --progress "$@"
