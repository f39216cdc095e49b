#!/usr/bin/env bash
# Idempotent set-up: a .venv beside the project with everything the workbench needs.
# - The venv sees the system's packages (--system-site-packages), so a torch the user
#   already has (CPU or CUDA) is used as it is and never replaced.
# - Only when no torch is importable is one installed: WORKBENCH_TORCH (default
#   torch==2.13.0, the CPU wheel this project is tested with).
# - Re-running is fast: a stamp of pyproject.toml skips pip when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${1:-app,dev}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv --system-site-packages .venv
fi
VPY=.venv/bin/python
if ! "$VPY" -c "import torch" >/dev/null 2>&1; then
  echo "setup: installing ${WORKBENCH_TORCH:-torch==2.13.0}"
  "$VPY" -m pip install -q "${WORKBENCH_TORCH:-torch==2.13.0}"
fi
stamp=".venv/.workbench-$(cat pyproject.toml | sha256sum | cut -c1-12)-${EXTRAS//,/_}"
if [ ! -f "$stamp" ]; then
  echo "setup: installing the workbench with extras [$EXTRAS]"
  "$VPY" -m pip install -q -e ".[$EXTRAS]" 2>&1 | grep -v "is ignored" || true
  "$VPY" -c "import workbench, streamlit, pytest" && touch "$stamp"
fi
