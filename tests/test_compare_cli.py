"""compare(): the interval table, the known class-weighting phenomenon, and the CLI."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import workbench as wb
from workbench.compare import interval_table


def test_interval_table_matches_scipy():
    df = pd.DataFrame({"scheme": ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2] * 2,
                       "accuracy": [0.8, 0.9, 0.85, 0.7, 0.72, 0.71]})
    t = interval_table(df).set_index("scheme")
    v = np.array([0.8, 0.9, 0.85])
    lo, hi = stats.t.interval(0.95, 2, loc=v.mean(), scale=stats.sem(v))
    assert t.loc["a", "n"] == 3
    assert np.isclose(t.loc["a", "mean"], v.mean()) and np.isclose(t.loc["a", "std"], v.std(ddof=1))
    assert np.isclose(t.loc["a", "ci_low"], lo) and np.isclose(t.loc["a", "ci_high"], hi)


def test_single_seed_interval_is_nan_not_zero():
    df = pd.DataFrame({"scheme": ["a"], "seed": [0], "accuracy": [0.8]})
    row = interval_table(df).iloc[0]
    assert row["n"] == 1 and np.isnan(row["std"]) and np.isnan(row["ci_low"])


def test_class_weighting_raises_balanced_accuracy_on_long_tailed_digits():
    """Known phenomenon: inverse-frequency weighting beats ERM on balanced accuracy."""
    cfg = wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 50}],
                       epochs=30)
    cmp = wb.compare(cfg, schemes=["uniform", "inverse_frequency"], seeds=[0, 1, 2])
    table = cmp.table
    assert list(table.columns) == ["scheme", "metric", "mean", "std", "ci_low", "ci_high", "n",
                                   "clipped"]
    bal = table[table.metric == "balanced_accuracy"].set_index("scheme")
    assert (bal["n"] == 3).all()
    assert bal.loc["inverse_frequency", "mean"] > bal.loc["uniform", "mean"]


def test_compare_validates_every_config_before_training():
    with pytest.raises(ValueError, match="unknown scheme 'nope'"):
        wb.compare(wb.RunConfig(epochs=1), schemes=["uniform", "nope"], seeds=[0])
    with pytest.raises(ValueError, match="linupper r must be a finite number > 0"):
        wb.compare(wb.RunConfig(epochs=1), schemes=[("linupper", {"r": -1})], seeds=[0])


STORE = {}


def cli(*args):
    import os
    import tempfile

    if "root" not in STORE:
        STORE["root"] = tempfile.mkdtemp(prefix="wb-cli-store-")
    env = {**os.environ, "WORKBENCH_STORE": STORE["root"]}
    return subprocess.run([sys.executable, "-m", "workbench", *args],
                          capture_output=True, text=True, timeout=300, env=env)


def test_cli_run_prints_json():
    out = cli("run", "--dataset", "digits", "--imbalance", "longtail:ratio=10",
              "--scheme", "linupper", "--scheme-param", "r=0.5", "--epochs", "2", "--json")
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["status"] == "done" and payload["scheme"] == "linupper(r=0.5)"
    assert 0 <= payload["summary"]["balanced_accuracy"] <= 1
    assert payload["config"]["imbalance"] == [{"kind": "longtail", "ratio": 10}]
    # saved in the store: listed by `runs`, and loaded (same key, same numbers) next time
    listed = cli("runs", "--csv")
    assert listed.returncode == 0 and payload["key"] in listed.stdout
    again = json.loads(cli("run", "--dataset", "digits", "--imbalance", "longtail:ratio=10",
                           "--scheme", "linupper", "--scheme-param", "r=0.5", "--epochs", "2",
                           "--json").stdout)
    assert again["key"] == payload["key"] and again["summary"] == payload["summary"]


def test_cli_compare_json():
    out = cli("compare", "--dataset", "blobs2d", "--epochs", "1", "--schemes",
              "uniform;kl_dro:lam=2", "--seeds", "0,1", "--json")
    assert out.returncode == 0, out.stderr
    table = pd.DataFrame(json.loads(out.stdout)["table"])
    assert set(table["scheme"]) == {"uniform", "kl_dro(lam=2)"} and (table["n"] == 2).all()


@pytest.mark.parametrize("args, expected", [
    (("run", "--scheme", "nope"), "valid schemes: " + ", ".join(wb.SCHEMES.names())),
    (("run", "--epochs", "-1"), "--epochs: epochs must be an integer in 1..10000, got -1"),
    (("run", "--imbalance", "longtail:ratio=-3"), "--imbalance #1 ratio: longtail ratio"),
    (("run", "--model-param", "dropout=1"), "--model-param dropout: mlp dropout must be"),
    (("run", "--lr", "0"), "--lr: lr must be a number in (0, 10], got 0"),
    (("run", "--dataset", "noisy_regression", "--scheme", "focal"), "classification"),
    (("compare", "--seeds", "a,b"), "--seeds expects comma-separated integers"),
    (("run", "--scheme-param", "r"), "expects key=value"),
    (("run", "--no-such-flag"), "unrecognized arguments"),
    (("run", "--scheme", "cvar", "--scheme-param", "alpha=1e-40"),
     "--scheme-param alpha: cvar alpha = 1e-40 is outside what float32 training can represent "
     "(1/alpha overflows float32); allowed: [1.18e-38, 1]"),
    (("compare", "--schemes", "uniform;kl_dro:lam=1e39"),
     "--schemes kl_dro: kl_dro lam = 1e+39 is outside what float32 training can represent"),
])
def test_cli_bad_input_is_one_line_and_exit_2(args, expected):
    out = cli(*args)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_cli_list():
    out = cli("list", "schemes")
    assert out.returncode == 0
    for name in wb.SCHEMES.names():
        assert name in out.stdout
