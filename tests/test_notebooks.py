"""The notebooks in ``notebooks/``: each one runs top to bottom, and git holds them stripped.

Every notebook is executed with nbclient at its small size (``WORKBENCH_NB_SMALL=1``) with a
throw-away run store (``WORKBENCH_STORE``). The kernel is always this interpreter (the venv's
python), whatever "python3" kernelspec is installed on the machine: a probe cell checks
``sys.prefix`` inside the kernel.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from ipykernel.kernelspec import get_kernel_dict  # noqa: E402
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402
from traitlets import default  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PLOTLY = "application/vnd.plotly.v1+json"
PROBE = "import sys; print('KERNEL-PREFIX=' + sys.prefix)"

# What the final tables of our notebooks must show (other notebooks: run without errors).
EXPECTED = {
    "01_quickstart": ["uniform", "inverse_frequency", "linupper", "balanced_accuracy"],
    "02_what_if_imbalance": ["uniform", "inverse_frequency", "group_dro",
                             "temperature_sampling(tau=2.0)", "worst_group_accuracy"],
    "03_loss_based_schemes": ["uniform", "linupper", "quadratic", "extremes", "kl_dro",
                              "corrupt=0"],
    "16_cartography": ["hard-to-learn", "easy-to-learn", "mean_weight", "linupper"],
}


class ThisPythonSpecs(KernelSpecManager):
    """Every kernel name resolves to ipykernel on ``sys.executable`` (no install step)."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(resource_dir=str(ROOT), **get_kernel_dict())


class ThisPythonKernel(KernelManager):
    @default("kernel_spec_manager")
    def _this_python_specs(self) -> KernelSpecManager:
        return ThisPythonSpecs(data_dir=self.data_dir)


def text_of(cell) -> str:
    """Printed text and plain-text results of one executed code cell."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream" and out["name"] == "stdout":
            parts.append(out["text"])
        elif out["output_type"] in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_NB_SMALL", "1")
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "runs"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # tiny models; the test machine may be busy
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", kernel_manager_class=ThisPythonKernel, timeout=240,
        allow_errors=True, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    assert text_of(nb.cells[0]).strip() == f"KERNEL-PREFIX={sys.prefix}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(code)
              for o in c.outputs if o["output_type"] == "error"]
    assert not errors, f"{path.name}: cells raised {errors}"
    figures = [o["data"][PLOTLY] for c in code for o in c.outputs
               if o["output_type"] in ("execute_result", "display_data")
               and PLOTLY in o.get("data", {})]
    assert figures, f"{path.name} showed no plotly figure"
    if path.stem in EXPECTED:
        empty = [f["layout"].get("title", {}).get("text", "?") for f in figures
                 if "no data" in json.dumps(f.get("layout", {}))]
        assert not empty, f"{path.name}: figures with no data: {empty}"
        last = text_of(code[-1])
        missing = [s for s in EXPECTED[path.stem] if s not in last]
        assert not missing, f"{path.name}: the final output lacks {missing}:\n{last}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped_and_parametrised(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    dirty = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert not dirty, f"{path.name}: code cells {dirty} keep outputs; strip them before commit"
    assert code and "parameters" in code[0].metadata.get("tags", []), (
        f"{path.name}: the first code cell must be tagged 'parameters'")
    assert "WORKBENCH_NB_SMALL" in code[0].source, (
        f"{path.name}: the parameters cell must read WORKBENCH_NB_SMALL")


def test_our_notebooks_are_present():
    names = {p.stem for p in NOTEBOOKS}
    assert set(EXPECTED) <= names, f"missing notebooks: {sorted(set(EXPECTED) - names)}"
