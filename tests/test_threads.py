"""Every entry point trains with one torch thread count, so they give the same numbers.

Why: float reductions split by thread; the same config and seed gave ece 0.104913 in the
app (1 thread) and 0.103471 from the CLI (torch's default, 2 threads here), and the store
kept whichever trained first (``workbench.threads``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import workbench as wb
from workbench.threads import ENV, torch_threads

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--dataset", "digits", "--imbalance", "longtail:ratio=50", "--epochs", "5"]
CONFIG = wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 50}], epochs=5)


@pytest.fixture
def ambient_threads():
    """A thread count unlike the CLI's default (torch's: the number of cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads((os.cpu_count() or 1) + 1)
    yield torch.get_num_threads()
    torch.set_num_threads(before)


@pytest.mark.timeout(300)
def test_cli_and_python_api_give_identical_summaries(tmp_path, ambient_threads):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", ENV)}
    env.update(WORKBENCH_STORE=str(tmp_path / "store"),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    p = subprocess.run([sys.executable, "-m", "workbench", "run", *ARGS, "--no-store", "--json"],
                       capture_output=True, text=True, env=env, timeout=280, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    cli = json.loads(p.stdout)
    run = wb.train(CONFIG)
    assert run.info["torch_threads"] == 1
    assert cli["summary"] == run.summary  # exactly: same thread count, same reductions
    assert torch.get_num_threads() == ambient_threads  # restored after training
    cmp = wb.compare(CONFIG, schemes=[("uniform", {})], seeds=[0], store=wb.RunStore(tmp_path))
    assert cmp.runs[0].summary == run.summary


def test_the_thread_count_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(ENV, "2")
    assert torch_threads() == 2
    assert wb.train(CONFIG.replace(dataset="blobs2d", imbalance=[], epochs=1)
                    ).info["torch_threads"] == 2
    monkeypatch.setenv(ENV, "zero")
    with pytest.raises(ValueError, match=f"{ENV} must be a positive integer"):
        torch_threads()
