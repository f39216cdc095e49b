"""Calibration figures: reliability diagrams and confidence histograms per scheme.

Why: reweighting changes how confident a model is as much as what it predicts. A
reliability diagram puts each confidence bin's accuracy against the diagonal (bars below
it: over-confident); with ``temperature=True`` the same after post-hoc temperature scaling
fitted on each run's validation split, which separates "miscalibrated" (fixed by T) from
"worse ranking" (not fixed). The numbers behind them live in
:mod:`workbench.metrics.posthoc` (``calibration_table``).

Example:
    >>> import workbench as wb
    >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"),
    ...                  schemes=["uniform", "inverse_frequency"], seeds=[0])
    >>> fig = reliability_diagram(cmp.frame("predictions"))
    >>> [t.type for t in fig.data]
    ['bar', 'scatter', 'bar', 'scatter']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..metrics import expected_calibration_error, reliability_bins
from ..metrics.posthoc import prob_columns, temperature_scaled
from .style import apply_layout, empty_figure, is_empty, scheme_colors, scheme_order

NEEDED = ("scheme", "split", "label", "confidence")


def _test_rows(predictions: pd.DataFrame | None, title: str) -> tuple[pd.DataFrame | None,
                                                                          go.Figure | None]:
    if is_empty(predictions, NEEDED) or not prob_columns(predictions):
        why = ("no data: no predictions" if is_empty(predictions, ("scheme", "split")) else
               "no data: calibration needs class probabilities (is this a regression run?)")
        return None, empty_figure(why, title)
    test = predictions[predictions["split"] == "test"]
    if test.empty:
        return None, empty_figure("no data: no test predictions", title)
    return test, None


def reliability_diagram(predictions: pd.DataFrame, n_bins: int = 15, by_group: bool = False,
                        temperature: bool = False,
                        group_names: Sequence[str] | None = None) -> go.Figure:
    """Accuracy per confidence bin against the diagonal, one column per scheme.

    Why: see the module docstring. Test split, top-label confidence, ``n_bins`` equal-width
    bins; the bars pool the seeds (more samples per bin). The ECE in each facet title (the
    top-label ECE of Guo et al. 2017) is the **mean over seeds** of each run's ECE, the
    number ``calibration_table`` and the Overview report, so a page shows one ECE per scheme
    (:func:`seed_mean_ece`; the pooled-sample ECE differs slightly and is not shown).
    ``by_group=True`` adds one row per group (names from ``group_names``, e.g.
    ``run.info["group_names"]``, else the group ids); groups with few test samples give
    noisy bars, the hover shows each bin's count. ``temperature=True`` first scales each
    run's probabilities with the T fitted on its own val split.

    Example:
        >>> import workbench as wb
        >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"),
        ...                  schemes=["uniform"], seeds=[0, 1])
        >>> fig = reliability_diagram(cmp.frame("predictions"), by_group=True,
        ...                           temperature=True, group_names=["majority", "minority"])
        >>> len(fig.data)  # (bars + diagonal) x 2 groups
        4
    """
    title = ("Reliability diagram after temperature scaling" if temperature
             else "Reliability diagram")
    preds = predictions
    if temperature and not is_empty(predictions, NEEDED) and prob_columns(predictions):
        preds = temperature_scaled(predictions)
    test, fig = _test_rows(preds, title)
    if fig is not None:
        return fig
    pcols = prob_columns(test)
    schemes = scheme_order(test["scheme"])
    colors = scheme_colors(schemes)
    if by_group and "group" in test.columns:
        ids = sorted(pd.unique(test["group"]))
        names = [str(group_names[int(g)]) if group_names is not None and 0 <= int(g) <
                 len(group_names) else f"group {g}" for g in ids]
        rows = list(zip(ids, names))
    else:
        rows = [(None, "all test samples")]
    titles = []
    cells = []
    for gid, gname in rows:
        for scheme in schemes:
            part = test[test["scheme"] == scheme]
            if gid is not None:
                part = part[part["group"] == gid]
            text = scheme if gid is None else f"{scheme} · {gname}"
            if part.empty:
                titles.append(f"{text}: no samples")
                cells.append(None)
                continue
            p, y = part[pcols].to_numpy(dtype=float), part["label"].to_numpy().astype(np.int64)
            ece, _ = seed_mean_ece(part, pcols, n_bins)
            extra = (f"<br>T = {part['temperature'].mean():.2f}" if temperature and
                     "temperature" in part else "")
            titles.append(f"{text}<br>ECE {ece:.3f}{extra}")
            cells.append(reliability_bins(p, y, n_bins=n_bins))
    fig = make_subplots(rows=len(rows), cols=len(schemes), subplot_titles=titles,
                        shared_xaxes=True, shared_yaxes=True, horizontal_spacing=0.04,
                        vertical_spacing=min(0.12, 0.3 / len(rows)))
    width = 1.0 / n_bins
    for k, bins in enumerate(cells):
        r, c = k // len(schemes) + 1, k % len(schemes) + 1
        scheme = schemes[c - 1]
        if bins is None:
            continue
        full = bins[bins["count"] > 0]
        fig.add_trace(go.Bar(
            x=(full["lo"] + full["hi"]) / 2, y=full["accuracy"], width=width * 0.95,
            name=scheme, legendgroup=scheme, showlegend=r == 1,
            marker=dict(color=colors[scheme], line=dict(color="#333333", width=0.5)),
            customdata=np.stack([full["confidence"], full["count"]], 1),
            hovertemplate=("bin %{x:.2f}<br>accuracy %{y:.3f}<br>mean confidence "
                           "%{customdata[0]:.3f}<br>%{customdata[1]} samples<extra></extra>")),
            row=r, col=c)
        fig.add_trace(go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
            legendgroup="diagonal", showlegend=k == 0, hoverinfo="skip",
            line=dict(color="#888888", dash="dash", width=1)), row=r, col=c)
    fig.update_xaxes(range=[0, 1], title_text=None)
    fig.update_yaxes(range=[0, 1])
    for c in range(1, len(schemes) + 1):
        fig.update_xaxes(title_text="confidence", row=len(rows), col=c)
    for r in range(1, len(rows) + 1):
        fig.update_yaxes(title_text="accuracy", row=r, col=1)
    seeds = test["seed"].nunique() if "seed" in test else 1
    fitted = "T fitted per run on its val split; " if temperature else ""
    apply_layout(fig, f"{title} ({fitted}test split, {n_bins} bins; bars: the {seeds} seeds "
                      f"pooled; x: top-label confidence; ECE: {ECE_LABEL}; bars below the "
                      "diagonal = over-confident)", top=50 if temperature else 30)
    fig.update_layout(height=max(400, 330 * len(rows) + 130 + 16 * 2), bargap=0)
    return fig


ECE_LABEL = "mean over seeds"


def seed_mean_ece(rows: pd.DataFrame, pcols: Sequence[str], n_bins: int) -> tuple[float, int]:
    """(mean over seeds of each run's top-label ECE, number of runs) of ``rows``.

    The same number as ``calibration_table``'s ``ece`` (and the Overview's, mean over seeds)
    for the same rows and bins.

    Example:
        >>> rows = pd.DataFrame({"seed": [0, 0, 1, 1], "label": [0, 1, 0, 1],
        ...                      "p0": [0.9, 0.9, 0.6, 0.4], "p1": [0.1, 0.1, 0.4, 0.6]})
        >>> seed_mean_ece(rows, ["p0", "p1"], n_bins=10)  # seed 0: 0.4, seed 1: 0.4
        (0.4, 2)
    """
    keys = [c for c in ("seed", "key") if c in rows.columns]
    parts = [g for _, g in rows.groupby(keys, sort=False)] if keys else [rows]
    eces = [expected_calibration_error(g[list(pcols)].to_numpy(dtype=float),
                                       g["label"].to_numpy().astype(np.int64), n_bins=n_bins)
            for g in parts]
    return float(np.mean(eces)), len(eces)


def confidence_histogram(predictions: pd.DataFrame, n_bins: int = 20) -> go.Figure:
    """Distribution of top-label confidence on the test split, overlaid per scheme.

    Why: a model can be accurate yet over-confident; the legend gives each scheme's mean
    confidence next to its accuracy (mean confidence > accuracy: over-confident on average).
    Seeds pooled, probability-normalised so schemes stay comparable.

    Example:
        >>> import workbench as wb
        >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"),
        ...                  schemes=["uniform", "linupper"], seeds=[0])
        >>> len(confidence_histogram(cmp.frame("predictions")).data)
        2
    """
    title = "Confidence on the test split"
    test, fig = _test_rows(predictions, title)
    if fig is not None:
        return fig
    schemes = scheme_order(test["scheme"])
    colors = scheme_colors(schemes)
    fig = go.Figure()
    for scheme in schemes:
        part = test[test["scheme"] == scheme]
        conf = part["confidence"].to_numpy(dtype=float)
        acc = float(np.mean(part["pred"].to_numpy() == part["label"].to_numpy())) \
            if "pred" in part else float("nan")
        fig.add_trace(go.Histogram(
            x=conf, name=f"{scheme} (mean conf {conf.mean():.2f}, acc {acc:.2f})",
            legendgroup=scheme, histnorm="probability", marker_color=colors[scheme],
            opacity=0.55, xbins=dict(start=0.0, end=1.0, size=1.0 / n_bins)))
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text="confidence (max probability)", range=[0, 1])
    fig.update_yaxes(title_text="fraction of test samples")
    return apply_layout(fig, f"{title} (seeds pooled; legend: mean confidence and "
                             "accuracy over the pooled samples)", height=420)
