"""Jupyter as notebooks/README.md promises it: ``jupyter lab`` starts, progress bars draw.

Why: the README's set-up (``scripts/setup.sh``, extras app,dev,notebooks) must give a
working ``.venv/bin/jupyter lab notebooks/``, and ``progress=True`` in a notebook must draw
tqdm's widget bar (``tqdm.auto`` with ipywidgets) instead of printing "IProgress not
found. Please update jupyter and ipywidgets." on stderr, which the notebooks used to hide
with a warnings filter. Without the notebooks extra these tests skip locally and fail on
CI (``CI=true``), so the check cannot silently disappear there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WIDGET = "application/vnd.jupyter.widget-view+json"


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        why = f"{module} is not installed: bash scripts/setup.sh app,dev,notebooks"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why)
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(120)
def test_jupyter_lab_serves_the_notebooks(tmp_path):
    """The README's command, ``.venv/bin/jupyter lab notebooks/``, serves the folder."""
    _require("jupyterlab")
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_DATA_DIR": str(tmp_path / "d")}
    proc = subprocess.Popen(
        [str(BIN / "jupyter"), "lab", "notebooks/", "--no-browser", f"--port={port}",
         "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.ip=127.0.0.1",
         *(["--allow-root"] if os.geteuid() == 0 else [])],  # root: containers, CI
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        end, body = time.monotonic() + 90, ""
        while time.monotonic() < end and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents/01_quickstart.ipynb?content=0"
                with urllib.request.urlopen(url, timeout=5) as r:
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert '"type": "notebook"' in body or '"type":"notebook"' in body, proc.poll()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=10) as r:
            assert r.status == 200 and "JupyterLab" in r.read().decode()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.timeout(240)
def test_progress_bars_are_widgets_without_the_iprogress_warning(tmp_path, monkeypatch):
    """``wb.train(..., progress=True)`` and ``wb.compare(..., progress=True)`` in a kernel:
    a widget bar each, nothing on stderr about IProgress."""
    _require("ipywidgets")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from test_notebooks import ThisPythonKernel

    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "runs"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import workbench as wb\n"
        "cfg = wb.RunConfig(dataset='blobs2d', model='linear', epochs=1)\n"
        "run = wb.train(cfg, progress=True)\n"
        "cmp = wb.compare(cfg, schemes=['uniform', 'linupper'], seeds=[0], progress=True)\n"
        "print('done', run.status)")]
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=200,
                                     kernel_manager_class=ThisPythonKernel,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = nb.cells[0].outputs
    stderr = "".join(o.get("text", "") for o in outputs
                     if o.output_type == "stream" and o.name == "stderr")
    stdout = "".join(o.get("text", "") for o in outputs
                     if o.output_type == "stream" and o.name == "stdout")
    assert "IProgress" not in stderr, stderr
    assert "done done" in stdout
    widgets = [o for o in outputs if o.output_type == "display_data" and WIDGET in o.data]
    assert len(widgets) >= 2, [o.output_type for o in outputs]  # train's bar, compare's bar
