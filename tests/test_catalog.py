"""The metric table (workbench.metrics.catalog): every key any task produces has an entry;
intervals are clipped to a metric's range; the Overview names a best scheme only when its
interval clears the others'.

The walk trains tiny runs of every task (classification on blobs2d and long-tailed digits,
a binary fairness data set, regression with and without covariate shift, a character LM
with per-domain perplexity), with schemes that record state (Group DRO's q, DoReMi's alpha
in its proxy stage, fair_error_bound's bound) and stages (JTT), and collects every metric
key from run.summary, the history and stages frames, the compare table and the post-hoc
calibration table.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import workbench as wb
from workbench.compare import interval_table
from workbench.figures import best_schemes, metric_dots, separation, summary_wide
from workbench.figures.overview import VERDICT_ROW
from workbench.metrics import catalog
from workbench.metrics.posthoc import calibration_table

LM_DATA = {"n_per_domain": 40, "seq_len": 16}
LM_MODEL = {"d_model": 16, "n_layers": 1, "n_heads": 2}
TASKS = {
    "blobs2d": (wb.RunConfig(dataset="blobs2d", model="linear", epochs=1, track=16),
                ["uniform", "group_dro"]),
    "digits": (wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 10}],
                            epochs=1, track=16),
               ["inverse_frequency", "jtt"]),
    "german": (wb.RunConfig(dataset="german", epochs=1, track=16),
               ["fairness_reweighing", "fair_error_bound"]),
    "noisy_regression": (wb.RunConfig(dataset="noisy_regression", model="linear", epochs=1,
                                      track=16), ["linupper"]),
    "covariate_shift": (wb.RunConfig(dataset="covariate_shift", model="linear", epochs=1,
                                     track=16), ["importance_weighting"]),
    "text_domains": (wb.RunConfig(dataset="text_domains", dataset_params=LM_DATA,
                                  model="transformer", model_params=LM_MODEL, epochs=1,
                                  batch_size=32, track=16),
                     ["uniform", "doremi"]),
}


@pytest.fixture(scope="module")
def comparisons():
    return {name: wb.compare(cfg, schemes=schemes, seeds=[0, 1], batched=False)
            for name, (cfg, schemes) in TASKS.items()}


def produced_keys(cmp) -> dict[str, set[str]]:
    """Every metric key a comparison reports, by where it was found."""
    keys = {"summary": set(), "history": set(), "stages": set()}
    for run in cmp.runs:
        assert run.status == "done", run.message
        keys["summary"] |= set(run.summary)
        keys["history"] |= set(run.history["metric"].astype(str))
        if len(run.stages):
            keys["stages"] |= set(run.stages["metric"].astype(str))
    keys["table"] = set(cmp.table["metric"].astype(str))
    cal = calibration_table(cmp.frame("predictions"))
    keys["posthoc"] = set(cal.columns) - {"scheme", "seed", "n"}
    return keys


def test_every_key_any_task_produces_has_an_entry(comparisons):
    found: dict[str, set[str]] = {}
    for name, cmp in comparisons.items():
        for where, keys in produced_keys(cmp).items():
            for k in keys:
                found.setdefault(k, set()).add(f"{name}/{where}")
    missing = {k: sorted(v) for k, v in found.items() if not catalog.is_known(k)}
    assert not missing, f"metric keys without a catalog entry: {missing}"
    # the walk is real: every kind of key was produced and looked up
    expected = {"accuracy", "group_gap", "ece", "mce", "nll", "mse", "worst_group_mse",
                "perplexity", "worst_group_perplexity", "loss", "perplexity:english",
                "ece_ts", "nll_ts", "brier_ts", "temperature", "share", "weight", "ess",
                "max_min_ratio", "entropy", "objective", "q", "alpha", "bound"}
    assert expected <= set(found), sorted(expected - set(found))
    lm = produced_keys(comparisons["text_domains"])["summary"]
    domains = wb.DATASETS.create("text_domains", **LM_DATA).load(0).group_names
    assert {f"perplexity:{d}" for d in domains} <= lm
    for k in found:
        entry = catalog.lookup(k)
        assert entry.low < entry.high and entry.label
    # values lie in their metric's range (the table is the range the clipping uses)
    for cmp in comparisons.values():
        for run in cmp.runs:
            for k, v in run.summary.items():
                m = catalog.lookup(k)
                assert m.low - 1e-9 <= v <= m.high + 1e-9, (k, v, m.range_text)


@pytest.mark.parametrize("name", wb.SCHEMES.names())
def test_every_recorded_scheme_state_has_an_entry(name):
    for key in wb.SCHEMES.get(name).recorded_state:
        assert catalog.is_known(key), f"{name} records {key!r}, which has no catalog entry"


def test_lookup_of_an_unknown_key_says_what_is_known():
    with pytest.raises(ValueError, match="unknown metric 'perplexty'.*perplexity:<domain>"):
        catalog.lookup("perplexty")
    with pytest.raises(ValueError, match="unknown metric 'accuracy_ts'"):
        catalog.lookup("accuracy_ts")  # only calibration metrics have post-hoc variants
    with pytest.raises(ValueError, match="unknown metric"):
        interval_table(pd.DataFrame({"scheme": ["a"], "seed": [0], "bogus": [1.0]}))


@pytest.mark.parametrize("key, higher, low, high", [
    ("accuracy", True, 0, 1), ("worst_group_accuracy", True, 0, 1),
    ("group_gap", False, 0, 1), ("ece", False, 0, 1), ("brier", False, 0, 2),
    ("nll", False, 0, math.inf), ("mse", False, 0, math.inf),
    ("perplexity", False, 1, math.inf), ("worst_group_perplexity", False, 1, math.inf),
    ("perplexity:code", False, 1, math.inf), ("ece_ts", False, 0, 1),
    ("demographic_parity_difference", False, 0, 1), ("ess", None, 0, 1),
    ("temperature", None, 0, math.inf)])
def test_directions_and_ranges(key, higher, low, high):
    m = catalog.lookup(key)
    assert (m.higher_is_better, m.low, m.high) == (higher, low, high)
    assert catalog.arrow(key) == {True: "↑", False: "↓", None: ""}[higher]


def test_catalog_table_lists_every_entry_and_family():
    t = catalog.table()
    assert set(catalog.METRICS) < set(t["name"]) and "perplexity:<domain>" in set(t["name"])
    assert set(t["direction"]) == {"higher", "lower", "none"}
    assert catalog.format_value("perplexity", 9.41632) == "9.416"


# ---------------------------------------------------------------- interval clipping


def test_bounded_intervals_are_clipped_to_the_range():
    gaps, accs = [0.0, 0.01, 0.12], [0.99, 1.0, 0.96]
    df = pd.DataFrame({"scheme": "a", "seed": [0, 1, 2], "group_gap": gaps, "accuracy": accs,
                       "nll": [0.3, 0.31, 0.29]})
    t = interval_table(df).set_index("metric")
    raw = {m: stats.t.interval(0.95, 2, loc=np.mean(v), scale=stats.sem(v))
           for m, v in (("group_gap", gaps), ("accuracy", accs))}
    assert raw["group_gap"][0] < 0 and raw["accuracy"][1] > 1  # the unclipped t-interval
    assert t.loc["group_gap", "ci_low"] == 0.0
    assert np.isclose(t.loc["group_gap", "ci_high"], raw["group_gap"][1])
    assert t.loc["accuracy", "ci_high"] == 1.0
    assert np.isclose(t.loc["accuracy", "ci_low"], raw["accuracy"][0])
    assert t["clipped"].tolist() == [True, True, False]
    cell = f"{np.mean(gaps):.3f} [0.000, {raw['group_gap'][1]:.3f}]"  # no longer symmetric
    assert summary_wide(interval_table(df)).loc["a", "group_gap"] == cell
    one = interval_table(df.iloc[:1])  # n = 1: no interval, nothing clipped
    assert one["ci_low"].isna().all() and not one["clipped"].any()


def test_perplexity_interval_never_goes_below_one():
    df = pd.DataFrame({"scheme": "a", "seed": [0, 1], "perplexity": [1.01, 1.6]})
    row = interval_table(df).iloc[0]
    assert row["ci_low"] == 1.0 and row["clipped"]


def test_clipped_intervals_in_a_real_comparison(comparisons):
    t = comparisons["blobs2d"].table
    lo = t.apply(lambda r: catalog.lookup(r["metric"]).low, axis=1)
    hi = t.apply(lambda r: catalog.lookup(r["metric"]).high, axis=1)
    has = t["ci_low"].notna()
    assert (t.loc[has, "ci_low"] >= lo[has]).all() and (t.loc[has, "ci_high"] <= hi[has]).all()


# ---------------------------------------------------------------- best scheme


def table_of(metric, means, lows, highs, n=3):
    return pd.DataFrame({"scheme": ["uniform", "linupper"][:len(means)], "metric": metric,
                         "mean": means, "std": 0.1, "ci_low": lows, "ci_high": highs, "n": n})


def test_lower_perplexity_is_best_when_separated():
    # the numbers: uniform 9.546, linupper 9.416
    t = table_of("perplexity", [9.546, 9.416], [9.50, 9.38], [9.59, 9.45])
    assert best_schemes(t) == {"perplexity": "linupper"}
    wide = summary_wide(t, verdict=True)
    assert wide.loc[VERDICT_ROW, "perplexity"] == "linupper"
    worst = table_of("worst_group_perplexity", [100.5, 40.2], [99.0, 39.0], [102.0, 41.0])
    assert best_schemes(worst) == {"worst_group_perplexity": "linupper"}


def test_overlapping_intervals_are_not_separated():
    t = table_of("perplexity", [9.546, 9.416], [9.30, 9.20], [9.79, 9.63])
    assert best_schemes(t) == {}
    row = separation(t).iloc[0]
    assert (row["best"], row["separated"], row["verdict"], row["overlaps"]) == \
        ("linupper", False, "not separated", "uniform")
    assert summary_wide(t, verdict=True).loc[VERDICT_ROW, "perplexity"] == "not separated"


def test_best_must_clear_every_other_scheme_not_only_the_runner_up():
    t = pd.DataFrame({"scheme": ["a", "b", "c"], "metric": "accuracy",
                      "mean": [0.90, 0.80, 0.70], "ci_low": [0.88, 0.78, 0.30],
                      "ci_high": [0.92, 0.82, 1.00], "n": 3})
    row = separation(t).iloc[0]
    assert row["runner_up"] == "b" and row["verdict"] == "not separated"
    assert row["overlaps"] == "c"


@pytest.mark.parametrize("case, verdict", [
    ("n1", "no interval (n = 1)"), ("tie", "tie"), ("one", "one scheme")])
def test_no_best_without_intervals_ties_or_rivals(case, verdict):
    if case == "n1":
        t = table_of("accuracy", [0.8, 0.9], [np.nan] * 2, [np.nan] * 2, n=1)
    elif case == "tie":
        t = table_of("accuracy", [0.8, 0.8], [0.79, 0.79], [0.81, 0.81])
    else:
        t = table_of("accuracy", [0.8], [0.79], [0.81])
    assert best_schemes(t) == {} and separation(t)["verdict"].iloc[0] == verdict


def test_diagnostics_are_never_ranked_and_arrows_follow_the_table():
    t = table_of("temperature", [1.2, 2.0], [1.1, 1.9], [1.3, 2.1])
    assert best_schemes(t) == {} and separation(t)["verdict"].iloc[0] == "not ranked"
    t = pd.concat([table_of("perplexity", [9.5, 9.4], [9.4, 9.3], [9.6, 9.5]),
                   table_of("accuracy", [0.8, 0.9], [0.7, 0.8], [0.9, 1.0])])
    titles = [a.text for a in metric_dots(t, metrics=("perplexity", "accuracy"))
              .layout.annotations]
    assert titles == ["perplexity ↓", "accuracy ↑"]
