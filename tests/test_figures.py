"""Tests of the plotly figure builders (workbench.figures) and the post-hoc calibration table.

One small comparison of each kind is trained once per module (digits long-tail, blobs2d for
decision regions, noisy_regression for the regression paths); every builder is checked for
the trace and facet counts it should produce, titles and axis labels, no all-NaN traces,
and a "no data" figure on empty input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import workbench as wb
from workbench import figures as F
from workbench.data.prepare import points_frame
from workbench.figures.overview import VERDICT_ROW
from workbench.figures.style import full_title, scheme_colors
from workbench.metrics.posthoc import calibration_table, prob_columns, temperature_scaled

SCHEMES = ["uniform", "inverse_frequency", "linupper"]


@pytest.fixture(scope="module")
def digits():
    cfg = wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 20}], epochs=3)
    return wb.compare(cfg, schemes=SCHEMES, seeds=[0, 1])


@pytest.fixture(scope="module")
def frames(digits):
    return {name: digits.frame(name) for name in ("history", "weights", "predictions")}


@pytest.fixture(scope="module")
def blobs():
    cfg = wb.RunConfig(dataset="blobs2d", epochs=2, model="linear")
    return wb.compare(cfg, schemes=["uniform", "inverse_frequency"], seeds=[0])


@pytest.fixture(scope="module")
def regression():
    cfg = wb.RunConfig(dataset="noisy_regression", epochs=2, model="linear")
    return wb.compare(cfg, schemes=["uniform", "linupper"], seeds=[0])


# ---------------------------------------------------------------- helpers


def values(trace) -> np.ndarray:
    data = trace.z if trace.type == "heatmap" else (trace.y if trace.y is not None else trace.x)
    flat = np.asarray(data, dtype=object).ravel()
    return np.array([np.nan if v is None else float(v) for v in flat], dtype=float)


def assert_figure(fig, n_traces=None, title=None):
    """A real figure: title, axis labels, expected traces, none of them NaN-only."""
    assert isinstance(fig, go.Figure)
    assert not F.is_empty_figure(fig)
    assert fig.layout.title.text
    if title:
        assert title.lower() in full_title(fig).lower()
    if n_traces is not None:
        assert len(fig.data) == n_traces
    for trace in fig.data:
        assert np.isfinite(values(trace)).any(), f"trace {trace.name!r} has no finite values"
    layout = fig.to_dict()["layout"]
    x_titles = [v.get("title", {}).get("text") for k, v in layout.items() if k.startswith("xaxis")]
    y_titles = [v.get("title", {}).get("text") for k, v in layout.items() if k.startswith("yaxis")]
    assert any(x_titles) and any(y_titles)


def assert_no_data(fig):
    assert isinstance(fig, go.Figure) and F.is_empty_figure(fig)
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text.startswith("no data")


def facet_titles(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations if a.xref == "paper" and a.yref == "paper"]


# ---------------------------------------------------------------- style and overview


def test_scheme_colors_are_stable():
    full = scheme_colors(["uniform", "linupper", "new_scheme", "linupper(r=0.4)"])
    assert len(set(full.values())) == 4
    assert scheme_colors(["linupper"])["linupper"] == full["linupper"]
    assert scheme_colors(["new_scheme"])["new_scheme"] == full["new_scheme"]


def test_same_colour_for_a_scheme_in_every_figure(digits, frames):
    dots = {t.name: t.marker.color for t in F.metric_dots(digits.table).data}
    ess = {t.name: t.line.color for t in F.ess_over_steps(frames["history"]).data
           if t.showlegend is not False}
    hist = {t.name: t.marker.color for t in F.weight_histogram(frames["weights"]).data}
    assert set(dots) == set(SCHEMES)
    assert dots == ess == hist


def test_metric_dots(digits, regression):
    fig = F.metric_dots(digits.table)
    assert_figure(fig, n_traces=4 * 3)
    assert [t.split()[0] for t in facet_titles(fig)] == ["accuracy", "balanced_accuracy",
                                                         "worst_group_accuracy", "ece"]
    assert facet_titles(fig)[-1].endswith("↓") and facet_titles(fig)[0].endswith("↑")
    assert sum(bool(t.showlegend) for t in fig.data) == 3  # legend: one entry per scheme
    assert all(t.error_y.visible for t in fig.data)  # n = 2: intervals shown
    fig = F.metric_dots(digits.table, metrics=("ece", "nll"))
    assert len(fig.data) == 6
    reg = F.metric_dots(regression.table)  # no classification metric: falls back to mse
    assert_figure(reg, n_traces=2 * 2)
    assert {t.split()[0] for t in facet_titles(reg)} == {"mse", "worst_group_mse"}
    assert not any(t.error_y.visible for t in reg.data)  # one seed: no interval


def small_table():
    return pd.DataFrame({
        "scheme": ["a", "a", "b", "b", "c", "c"],
        "metric": ["accuracy", "ece"] * 3,
        "mean": [0.8123, 0.10, 0.90, 0.20, 0.85, 0.05],
        "std": [0.01] * 6,
        "ci_low": [0.7993, 0.08, 0.88, 0.10, np.nan, np.nan],
        "ci_high": [0.8253, 0.12, 0.92, 0.30, np.nan, np.nan],
        "n": [3, 3, 3, 3, 1, 1],
    })


def test_summary_wide_formatting(digits):
    wide = F.summary_wide(small_table())
    assert list(wide.index) == ["a", "b", "c"] and list(wide.columns) == ["accuracy", "ece"]
    assert wide.loc["a", "accuracy"] == "0.812 ± 0.013"
    assert wide.loc["b", "ece"] == "0.200 ± 0.100"
    assert wide.loc["c", "accuracy"] == "0.850"  # n = 1: the mean alone
    real = F.summary_wide(digits.table)
    assert list(real.index) == SCHEMES and "worst_group_accuracy" in real.columns
    acc = digits.table[digits.table.metric == "accuracy"].set_index("scheme")
    for scheme, cell in real["accuracy"].items():  # an interval cut at 0 or 1 is [low, high]
        assert (" [" in cell) if acc.loc[scheme, "clipped"] else (" ± " in cell)
    verdict = F.summary_wide(digits.table, verdict=True)
    assert verdict.index[-1] == VERDICT_ROW and list(verdict.index[:-1]) == SCHEMES
    assert F.summary_wide(pd.DataFrame()).empty


def test_best_schemes_direction(digits):
    # b's accuracy interval clears a's, but c has no interval (n = 1): not separated
    assert F.best_schemes(small_table()) == {}
    assert F.best_schemes(small_table().iloc[:4]) == {"accuracy": "b"}  # ece: a, b overlap
    t = pd.DataFrame({"scheme": ["a", "b"] * 7,
                      "metric": [m for m in ("mse", "worst_group_mse", "group_gap", "nll",
                                             "brier", "perplexity", "balanced_accuracy")
                                 for _ in (0, 1)],
                      "mean": [0.10, 0.20] * 7, "ci_low": [0.09, 0.19] * 7,
                      "ci_high": [0.11, 0.21] * 7, "n": 3})
    t.loc[t.metric == "perplexity", ["mean", "ci_low", "ci_high"]] += 9
    best = F.best_schemes(t)
    assert best.pop("balanced_accuracy") == "b"
    assert set(best) == set(t.metric) - {"balanced_accuracy"} and set(best.values()) == {"a"}
    real = F.separation(digits.table).set_index("metric")
    assert set(real.index) == set(digits.table["metric"])
    pivot = digits.pivot()
    assert real.loc["accuracy", "best"] == pivot["accuracy"].idxmax()
    assert real.loc["ece", "best"] == pivot["ece"].idxmin()
    assert F.best_schemes(digits.table) == {m: r.best for m, r in real.iterrows() if r.separated}
    assert F.best_schemes(pd.DataFrame()) == {}


# ---------------------------------------------------------------- weights


def test_weight_trajectories(frames, regression):
    w = frames["weights"]
    fig = F.weight_trajectories(w, max_samples=20)
    assert_figure(fig, title="per-sample weights")
    assert facet_titles(fig) == [f"{s}<br>seed 0" for s in SCHEMES]
    assert len(fig.data) == 3 * 2  # 3 schemes x 2 groups (even, odd)
    for k in range(3):
        ids = {v for t in fig.data[2 * k:2 * k + 2] for v in t.customdata if v is not None}
        assert 0 < len(ids) <= 20
    by_class = F.weight_trajectories(w, color_by="class", seed=1)
    assert all(t.endswith("<br>seed 1") for t in facet_titles(by_class))
    assert {t.name for t in by_class.data} <= {f"class:{c}" for c in range(10)}
    assert len(by_class.data) > 6
    noisy = F.weight_trajectories(regression.frame("weights"))  # corrupted targets: marked
    assert_figure(noisy, title="noisy label")
    assert any(7 in list(t.marker.size) for t in noisy.data)
    assert_no_data(F.weight_trajectories(w, seed=99))


def test_group_weight_over_steps(frames):
    h = frames["history"]
    fig = F.group_weight_over_steps(h)
    assert_figure(fig, n_traces=3 * 2 * 2)  # schemes x groups x (band, mean line)
    uniform = [t for t in fig.data if t.mode == "lines" and t.fill != "toself"][:2]
    assert all(np.allclose(values(t), 1.0) for t in uniform)
    share = F.group_weight_over_steps(h, level="class", metric="share")
    assert_figure(share, n_traces=3 * 10 * 2, title="share of the batch")
    with pytest.raises(ValueError, match="level"):
        F.group_weight_over_steps(h, level="domain")
    assert_no_data(F.group_weight_over_steps(h, metric="nope"))


def test_weight_loss_scatter_and_histogram(frames):
    w = frames["weights"]
    fig = F.weight_loss_scatter(w, epoch=1)  # epochs count from 1, as in the history
    assert_figure(fig, n_traces=3 * 2, title="epoch 1")
    first = w[w["epoch"] == 0]  # the weights frame's own column: the 0-based epoch
    assert sorted(np.concatenate([t.x for t in fig.data])) == sorted(first["loss"])
    assert_no_data(F.weight_loss_scatter(w, epoch=50))
    assert_no_data(F.weight_loss_scatter(w, epoch=0))
    hist = F.weight_histogram(w)
    assert_figure(hist, n_traces=3, title="epoch 3")  # default: the last of 3 epochs
    assert [t.name for t in hist.data] == SCHEMES


def test_ess_over_steps(frames):
    h = frames["history"]
    fig = F.ess_over_steps(h, smooth=False)
    assert_figure(fig, n_traces=3 * 2)
    assert "rolling" not in full_title(fig)
    lines = {t.name: values(t) for t in fig.data if t.showlegend is not False}
    assert np.allclose(lines["uniform"], 1.0)
    assert (lines["inverse_frequency"] < 1).all()
    smooth = F.ess_over_steps(h, smooth=True)
    assert "rolling mean over 6 steps" in full_title(smooth)


# ---------------------------------------------------------------- groups


def test_group_curves_highlight_worst(frames):
    h = frames["history"]
    fig = F.group_curves(h)
    assert_figure(fig, n_traces=3 * 2, title="accuracy on the test set")
    notes = [a.text for a in fig.layout.annotations if a.text.startswith("worst")]
    assert len(notes) == 3
    last = h[(h.split == "test") & (h.metric == "accuracy") & h.group.isin(["even", "odd"])
             & (h.epoch == h.epoch.max())]
    worst = last.groupby(["scheme", "group"])["value"].mean().groupby("scheme").idxmin()
    for k, scheme in enumerate(SCHEMES):
        thick = [t.name for t in fig.data[2 * k:2 * k + 2] if t.line.width > 3]
        assert thick == [worst[scheme][1]]
    for split in ("train", "val"):
        assert_figure(F.group_curves(h, split=split, metric="loss"), n_traces=6)
    batch = F.group_curves(h, split="train_batch", metric="loss")
    assert_figure(batch, n_traces=6, title="training batches")
    assert max(batch.data[0].x) == h[h.split == "train_batch"].step.max()  # x is the step
    assert_figure(F.group_curves(h, level="class"), n_traces=3 * 10)
    missing = F.group_curves(h, metric="mse")
    assert_no_data(missing)
    assert "available: accuracy, loss" in missing.layout.annotations[0].text


def test_group_curves_regression(regression):
    h = regression.frame("history")
    assert_figure(F.group_curves(h, metric="mse"), n_traces=2)  # test targets: clean only
    assert_figure(F.group_curves(h, split="train", metric="mse"), n_traces=2 * 2)


# ---------------------------------------------------------------- calibration


def test_reliability_diagram(frames, digits):
    p = frames["predictions"]
    fig = F.reliability_diagram(p)
    assert_figure(fig, n_traces=3 * 2)  # bars + diagonal per scheme
    assert [t.type for t in fig.data[:2]] == ["bar", "scatter"]
    # one ECE per page: the facets show the mean over seeds, the number of the Calibration
    # table and of the Overview (the run summaries), and the title says so
    table = calibration_table(p).set_index("scheme")
    overview = digits.table.set_index(["metric", "scheme"]).loc["ece", "mean"]
    for title, scheme in zip(facet_titles(fig), SCHEMES):
        assert title.startswith(scheme) and f"ECE {table.loc[scheme, 'ece']:.3f}" in title
        assert f"{overview[scheme]:.3f}" in title
    assert "ECE: mean over seeds" in full_title(fig) and "seeds pooled" in full_title(fig)
    names = digits.runs[0].info["group_names"]
    by_group = F.reliability_diagram(p, by_group=True, temperature=True, group_names=names)
    assert_figure(by_group, n_traces=3 * 2 * 2, title="temperature scaling")
    assert all("T = " in t for t in facet_titles(by_group))
    assert any("· odd" in t for t in facet_titles(by_group))
    assert_figure(F.confidence_histogram(p), n_traces=3)


def test_reliability_titles_match_metric():
    df = pd.DataFrame({"scheme": "s", "seed": 0, "split": "test", "label": [0, 0, 1, 1, 1],
                       "group": 0, "pred": [1, 1, 1, 1, 1],
                       "p0": [0.75, 0.75, 0.45, 0.25, 0.25]})
    df["p1"] = 1 - df["p0"]
    df["confidence"] = df[["p0", "p1"]].max(axis=1)
    ece = wb.metrics.expected_calibration_error(df[["p0", "p1"]].to_numpy(), df["label"], 15)
    assert f"ECE {ece:.3f}" in facet_titles(F.reliability_diagram(df))[0]


def test_calibration_table(frames, digits):
    p = frames["predictions"]
    table = calibration_table(p)
    assert list(table.columns) == ["scheme", "n", "ece", "mce", "brier", "nll", "accuracy",
                                   "temperature", "ece_ts", "nll_ts", "brier_ts"]
    assert list(table["scheme"]) == SCHEMES and (table["n"] == 2).all()
    pivot = digits.pivot()
    for col in ("accuracy", "ece", "brier", "nll"):  # same numbers as the run summaries
        np.testing.assert_allclose(table.set_index("scheme")[col], pivot.loc[SCHEMES, col],
                                   rtol=1e-6)
    assert (table["temperature"] > 0).all()
    val = calibration_table(p, split="val", by_run=True)
    assert len(val) == 6 and "seed" in val.columns
    assert (val["nll_ts"] <= val["nll"] + 1e-6).all()  # T = 1 is a candidate of the fit


def test_temperature_scaling_keeps_accuracy(frames):
    p = frames["predictions"]
    scaled = temperature_scaled(p)
    cols = prob_columns(p)
    assert cols == [f"p{c}" for c in range(10)]
    before, after = p[cols].to_numpy(), scaled[cols].to_numpy()
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(before.argmax(1), after.argmax(1))
    np.testing.assert_allclose(after.sum(1), 1.0, atol=1e-9)
    np.testing.assert_allclose(scaled["confidence"], after.max(1))
    assert scaled.groupby(["scheme", "seed"])["temperature"].nunique().eq(1).all()
    assert len(p) == len(scaled) and list(scaled.columns[:len(p.columns)]) == list(p.columns)


def test_calibration_on_regression(regression):
    p = regression.frame("predictions")
    assert calibration_table(p).empty
    assert temperature_scaled(p).equals(p)
    fig = F.reliability_diagram(p)
    assert_no_data(fig)
    assert "regression" in fig.layout.annotations[0].text
    assert_no_data(F.confidence_histogram(p))


# ---------------------------------------------------------------- data view


def test_count_bars(digits, regression):
    fig = F.count_bars(digits.runs[0].info)
    assert_figure(fig, n_traces=2 * 3)
    assert facet_titles(fig) == ["classes", "groups"]
    after = [t for t in fig.data if t.name.startswith("train, after")][0]
    assert list(after.y) == digits.runs[0].info["counts_after"]["class"]
    reg = F.count_bars(regression.runs[0].info)
    assert_figure(reg, n_traces=3)
    assert facet_titles(reg) == ["groups"]
    assert_no_data(F.count_bars({}))


def test_decision_boundaries(blobs, digits):
    pts = points_frame("blobs2d", {}, [], 0)
    fig = F.decision_boundaries(blobs.frame("boundary"), pts)
    assert_figure(fig, n_traces=2 * (1 + 3 * 2))
    assert facet_titles(fig) == ["uniform", "inverse_frequency"]
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 2 and set(np.unique(values(heat[0]))) <= {0.0, 1.0, 2.0}
    symbols = {t.name.split(" · ")[1]: t.marker.symbol for t in fig.data if t.type != "heatmap"}
    assert symbols["majority"] == "circle" and symbols["minority"] != "circle"
    assert_figure(F.decision_boundaries(blobs.frame("boundary"), None), n_traces=2)
    assert_no_data(F.decision_boundaries(digits.frame("boundary"), pts))  # 64-D: no grid


# ---------------------------------------------------------------- learn view

PLOTTED = {"effective_number", "extremes", "focal", "group_dro", "inverse_frequency", "kl_dro",
           "linupper", "quadratic", "temperature_sampling", "uniform"}  # must have a plot


@pytest.mark.parametrize("name", wb.SCHEMES.names())
@pytest.mark.parametrize("batch_size", [32, 2])
def test_weight_function_every_scheme(name, batch_size):
    fig = F.weight_function(name, batch_size=batch_size)
    assert isinstance(fig, go.Figure)
    if F.is_empty_figure(fig):  # allowed for schemes registered after this view was written
        assert name not in PLOTTED
        assert "no weight-function plot" in fig.layout.annotations[0].text
        return
    assert_figure(fig, title=name)
    for trace in fig.data:
        assert (values(trace) >= 0).all()


def test_weight_function_kinds():
    lin = F.weight_function("linupper", batch_size=16)
    assert lin.data[0].type == "scatter" and len(lin.data[0].x) == 16
    w = values(lin.data[0])
    assert np.all(np.diff(w) >= -1e-9) and w.mean() == pytest.approx(1.0, abs=1e-5)
    focal = F.weight_function("focal")
    assert "p_t" in focal.layout.xaxis.title.text
    assert np.all(np.diff(values(focal.data[0])) <= 1e-9)  # confident samples fade out
    inv = F.weight_function("inverse_frequency")
    assert [t.name for t in inv.data] == ["majority group", "minority group"]
    assert inv.data[0].type == "bar" and np.all(np.diff(values(inv.data[0])) > 0)
    np.testing.assert_allclose(values(inv.data[0]), values(inv.data[1]), rtol=1e-5)  # by class
    by_group = F.weight_function("inverse_frequency", {"by": "group"})
    assert (values(by_group.data[1]) > values(by_group.data[0])).all()  # minority up-weighted
    flat = F.weight_function("temperature_sampling", {"tau": 1.0})
    np.testing.assert_allclose(values(flat.data[0]), 1.0, rtol=1e-5)
    balanced = F.weight_function("temperature_sampling", {"tau": 1e6})
    np.testing.assert_allclose(values(balanced.data[0]), values(inv.data[0]), rtol=1e-3)


def test_batch_of_two_is_degenerate_for_min_max_schemes():
    fig = F.weight_function("linupper", batch_size=2)
    assert len(fig.data) == 3
    a, b = fig.data[0], fig.data[1]
    assert list(a.x) != list(b.x)
    np.testing.assert_allclose(a.y, b.y, atol=1e-6)  # different losses, same weights
    np.testing.assert_allclose(a.y, [2 / (1 + np.e), 2 * np.e / (1 + np.e)], atol=1e-5)
    assert any("identical weights" in ann.text for ann in fig.layout.annotations)
    kl = F.weight_function("kl_dro", batch_size=2)  # raw losses: the weights do change
    assert not np.allclose(kl.data[0].y, kl.data[2].y, atol=1e-3)
    assert not any("identical" in ann.text for ann in kl.layout.annotations)


def test_weight_function_bad_input():
    assert F.is_empty_figure(F.weight_function("no_such_scheme"))
    with pytest.raises(ValueError, match="linupper r must be"):
        F.weight_function("linupper", {"r": 0})


@pytest.mark.parametrize("name", wb.SCHEMES.names())
def test_scheme_card_every_scheme(name):
    card = F.scheme_card(name)
    assert {"name", "formula", "paper", "summary", "params"} <= set(card)
    assert card["name"] == name and card["params"] == wb.SCHEMES.params(name)
    assert card["summary"] == wb.SCHEMES.describe(name)
    assert card["formula"] == wb.SCHEMES.get(name).formula and card["paper"]
    assert card["kind"] in ("loss", "confidence", "static", "sampling", "other", "unknown")
    fig = F.weight_function(name)
    assert F.is_empty_figure(fig) == (card["kind"] in ("other", "unknown"))


def test_scheme_card_kinds_and_fallback():
    assert F.scheme_card("linupper")["kind"] == "loss"
    assert F.scheme_card("focal")["kind"] == "confidence"
    assert F.scheme_card("temperature_sampling")["kind"] == "sampling"
    assert F.scheme_card("inverse_frequency")["kind"] == "static"
    card = F.scheme_card("not_registered")
    assert card["params"] == {} and card["formula"] == "" and card["kind"] == "unknown"


# ---------------------------------------------------------------- empty input, no streamlit

EMPTY_CASES = [
    ("metric_dots", {}), ("weight_trajectories", {}), ("group_weight_over_steps", {}),
    ("weight_loss_scatter", {}), ("weight_histogram", {}), ("ess_over_steps", {}),
    ("group_curves", {}), ("reliability_diagram", {}), ("confidence_histogram", {}),
    ("decision_boundaries", {}), ("count_bars", {}),
]


@pytest.mark.parametrize("name,kwargs", EMPTY_CASES)
@pytest.mark.parametrize("frame", [None, pd.DataFrame(), "stacked"])
def test_empty_input_gives_no_data_figure(name, kwargs, frame):
    if isinstance(frame, str):  # what Comparison.frame gives when no run has the frame
        frame = {} if name == "count_bars" else pd.DataFrame(columns=["scheme", "seed", "key"])
    assert_no_data(getattr(F, name)(frame, **kwargs))


def test_no_streamlit_import():
    root = Path(F.__file__).parent
    for path in [*root.glob("*.py"), root.parent / "metrics" / "posthoc.py"]:
        assert "streamlit" not in path.read_text(), path
