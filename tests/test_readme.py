"""The README's Python blocks run verbatim, as a script and in a notebook.

Why: users paste them. A block that needs a ``__main__`` guard, or that only works in
one of the two, fails the first thing a new user tries (``wb.sweep`` once started worker
processes by default and a script of the README block died with worker tracebacks).
Each ```python block is run unchanged: once as ``python block.py`` and once as the cells
of a notebook (nbclient, the kernel on this interpreter), with a throw-away run store.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def _env(tmp_path) -> dict:
    # PYTHONPATH: this checkout's workbench, whatever copy the environment has installed
    return {**os.environ, "WORKBENCH_STORE": str(tmp_path / "store"), "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def test_the_readme_has_python_blocks():
    assert BLOCKS and any("wb.sweep" in b for b in BLOCKS)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_a_readme_block_runs_as_a_script(index, tmp_path):
    script = tmp_path / "block.py"
    script.write_text(BLOCKS[index])
    p = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_env(tmp_path),
                       capture_output=True, text=True, timeout=280)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "Traceback" not in p.stderr


@pytest.mark.timeout(300)
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_a_readme_block_runs_in_a_notebook(index, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from test_notebooks import ThisPythonKernel

    for k, v in _env(tmp_path).items():
        monkeypatch.setenv(k, v)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(BLOCKS[index])])
    nbclient.NotebookClient(nb, kernel_name="python3", kernel_manager_class=ThisPythonKernel,
                            timeout=240, resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    errors = [o for o in nb.cells[0].outputs if o["output_type"] == "error"]
    assert not errors, errors


def test_files_the_readme_redirects_into_are_gitignored():
    """``runs --csv > runs.csv`` in the README must not leave an untracked file behind."""
    blocks = re.findall(r"```(\w*)\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    shell = "\n".join(body for lang, body in blocks if lang in ("bash", "sh", "console"))
    targets = set(re.findall(r">\s*([\w./-]+\.\w+)", shell))
    assert "runs.csv" in targets
    p = subprocess.run(["git", "check-ignore", *sorted(targets)], cwd=ROOT,
                       capture_output=True, text=True)
    ignored = set(p.stdout.split())
    assert ignored == targets, f"not gitignored: {sorted(targets - ignored)}"
