#!/usr/bin/env bash
# Idempotent set-up: a .venv beside the project with everything the workbench needs.
# - The venv sees the system's packages (--system-site-packages), so a torch the user
#   already has (CPU or CUDA) is used as it is and never replaced.
# - Only when no torch is importable is one installed: WORKBENCH_TORCH (default
#   torch==2.13.0): a local wheel if pip's find-links has one, else the CPU build from
#   PyTorch's CPU index on a machine without an NVIDIA GPU (never the CUDA packages),
#   else the default build.
# - Extras (first argument, default app,dev,notebooks): app = the dashboard, dev = the tests,
#   notebooks = `jupyter lab` with widget progress bars. Installing them never touches torch
#   (torch>=2.1 is already satisfied).
# - Re-running is fast: a stamp of pyproject.toml skips pip when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${1:-app,dev,notebooks}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv --system-site-packages .venv
fi
VPY=.venv/bin/python
if ! "$VPY" -c "import torch" >/dev/null 2>&1; then
  TORCH="${WORKBENCH_TORCH:-torch==2.13.0}"
  probe=$(mktemp -d)
  if "$VPY" -m pip download -q --no-deps --no-index -d "$probe" "$TORCH" >/dev/null 2>&1; then
    echo "setup: installing $TORCH (a local wheel: pip's find-links)"
    "$VPY" -m pip install -q "$TORCH"
  elif ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "setup: installing $TORCH, CPU build (no NVIDIA GPU here; PyPI's default build is CUDA)"
    "$VPY" -m pip install -q "$TORCH" --index-url https://download.pytorch.org/whl/cpu \
      --extra-index-url https://pypi.org/simple
  else
    echo "setup: installing $TORCH"
    "$VPY" -m pip install -q "$TORCH"
  fi
  rm -rf "$probe"
fi
stamp=".venv/.workbench-$(cat pyproject.toml | sha256sum | cut -c1-12)-${EXTRAS//,/_}"
if [ ! -f "$stamp" ]; then
  echo "setup: installing the workbench with extras [$EXTRAS]"
  "$VPY" -m pip install -q -e ".[$EXTRAS]" 2>&1 | grep -v "is ignored" || true
  mods=workbench
  [[ ",$EXTRAS," == *,app,* ]] && mods+=",streamlit"
  [[ ",$EXTRAS," == *,dev,* ]] && mods+=",pytest"
  [[ ",$EXTRAS," == *,notebooks,* ]] && mods+=",jupyterlab,ipywidgets"
  "$VPY" -c "import $mods" && touch "$stamp"
fi
