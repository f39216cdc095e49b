"""Golden numbers: restructuring the engine must not move any result.

``tests/golden/`` holds every registered scheme's final summary on one small config and
the history and weight frames of three schemes, written by ``tests/golden/make_golden.py``.
Tolerances: a run alone agrees with the golden file within 1e-6 (absolute, or relative to
the value, whichever is larger); a run trained as a batched replica within 1e-5.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from tests.golden.make_golden import FRAME_SCHEMES, HERE, golden_config

GOLDEN = json.loads((HERE / "summaries.json").read_text())


def assert_summary(summary: dict, expected: dict, tol: float) -> None:
    assert set(summary) == set(expected)
    for key, want in expected.items():
        got = float(summary[key])
        if want is None:
            assert not math.isfinite(got), key
        else:
            assert got == pytest.approx(want, rel=tol, abs=tol), key


def legacy_history(h: pd.DataFrame) -> pd.DataFrame:
    """The history in the golden files' format: before the ``level`` column, class rows
    were told apart by a "class:" prefix in ``group`` (a change of format, not of numbers)."""
    group = np.where(h["level"] == "class", "class:" + h["group"].astype(str), h["group"])
    return h.assign(group=group).drop(columns="level")


def test_every_registered_scheme_has_golden_numbers():
    assert sorted(GOLDEN) == sorted(wb.SCHEMES.names())


@pytest.mark.parametrize("name", wb.SCHEMES.names())
def test_run_alone_matches_golden(name):
    run = wb.train(golden_config(name))
    assert run.status == "done"
    assert_summary(run.summary, GOLDEN[name], 1e-6)
    if name in FRAME_SCHEMES:
        for frame in ("history", "weights"):
            want = pd.read_csv(HERE / f"{name}_{frame}.csv")
            got = getattr(run, frame).reset_index(drop=True)
            if frame == "history":  # the golden files mark class rows "class:<name>"
                got = legacy_history(got)
            assert list(got.columns) == list(want.columns)
            assert len(got) == len(want)
            for col in want.columns:
                if pd.api.types.is_numeric_dtype(want[col]) and want[col].dtype != bool:
                    np.testing.assert_allclose(got[col].to_numpy(float),
                                               want[col].to_numpy(float),
                                               rtol=1e-6, atol=1e-6, err_msg=col)
                else:
                    assert got[col].astype(str).tolist() == want[col].astype(str).tolist(), col


def test_batched_replicas_match_golden():
    base = golden_config("uniform")
    names = ["uniform", "inverse_frequency", "linupper", "group_dro", "cvar", "focal"]
    cmp = wb.compare(base, schemes=names, seeds=[0])
    assert "batched" in cmp.runs[0].info["execution"]
    for run in cmp.runs:
        assert_summary(run.summary, GOLDEN[run.config.scheme], 1e-5)
