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
