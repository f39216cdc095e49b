#!/usr/bin/env bash
# The main job: installs what it needs (idempotently), then starts the dashboard, which
# opens on its default experiment (digits, long tail 50, three schemes x three seeds).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app,dev,notebooks
exec .venv/bin/python scripts/serve.py --browser.gatherUsageStats false "$@"
