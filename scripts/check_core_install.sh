#!/usr/bin/env bash
# The core's declared dependencies suffice: a fresh virtual environment (no system
# packages, no extras) installs the workbench with `pip install .` and trains and stores
# one run through the CLI. Torch is installed first as scripts/setup.sh does it
# (WORKBENCH_TORCH, default torch==2.13.0: a local wheel through pip's find-links, else the
# CPU build), so pip never pulls a CUDA build. Usage: bash scripts/check_core_install.sh [dir]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-$(mktemp -d)/core-venv}
PY=${PYTHON:-python3}
"$PY" -m venv "$VENV"
TORCH="${WORKBENCH_TORCH:-torch==2.13.0}"
probe=$(mktemp -d)
if "$VENV/bin/python" -m pip download -q --no-deps --no-index -d "$probe" "$TORCH" >/dev/null 2>&1
then
  "$VENV/bin/python" -m pip install -q "$probe"/torch-*.whl
else
  "$VENV/bin/python" -m pip install -q "$TORCH" --index-url https://download.pytorch.org/whl/cpu \
    --extra-index-url https://pypi.org/simple
fi
rm -rf "$probe"
"$VENV/bin/python" -m pip install -q . 2>&1 | grep -v "is ignored" || true
work=$(mktemp -d)
cd "$work"  # not the source tree: the installed package is what runs
WORKBENCH_STORE="$work/store" "$VENV/bin/python" -m workbench run --dataset blobs2d \
  --epochs 1 --json > run.json
"$VENV/bin/python" - <<'PY'
import json
run = json.load(open("run.json"))
assert run["status"] == "done", run
print(f"core install OK: a fresh venv with no extras trained and stored run {run['key']}")
PY
