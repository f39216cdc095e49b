"""Test-wide settings: one torch thread; the real ``__main__`` module after each test.

The models under test are tiny; on a 2-core machine two intra-op threads per process cost
far more in contention (tests start subprocesses: CLI, store writers, notebook kernels,
Streamlit) than they gain. Subprocesses inherit OMP_NUM_THREADS=1 from scripts/test.sh.
"""

import os
import sys

import pytest
import torch

os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's AppTest leaves ``sys.modules["__main__"]`` pointing at app.py; spawned
    sweep workers would then re-run the dashboard script in every worker (and, when two
    start at once, race on the default run store). Put the real main module back."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


@pytest.fixture
def app(monkeypatch, tmp_path):
    """The dashboard in Streamlit's AppTest with a fresh store, 1-epoch defaults and the
    first-load auto-run skipped (``started``)."""
    from pathlib import Path

    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("WORKBENCH_APP_DEFAULT_EPOCHS", "1")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"),
                           default_timeout=120)
    at.session_state["started"] = True
    return at.run()
