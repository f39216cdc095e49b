"""Per-group (or per-class) learning curves, with the worst group called out.

Why: reweighting is about the groups a plain average hides. The worst group at the end of
training is what worst-group accuracy reports, so every facet highlights it (thicker line,
annotation) and shows how it got there: learned late, never learned, or learned then
forgotten (the over-fitting of up-weighted rare groups that Li et al. (NAACL 2025) describe).

Example:
    >>> import workbench as wb
    >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=2, model="linear"),
    ...                  schemes=["uniform"], seeds=[0])
    >>> fig = group_curves(cmp.frame("history"))
    >>> [t.name for t in fig.data]
    ['majority', 'minority']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..metrics.catalog import higher_is_better
from .style import (
    apply_layout,
    empty_figure,
    facets,
    group_colors,
    is_empty,
    label_axes,
    level_rows,
    natural_key,
    over_seeds,
    position,
    rolling,
    scheme_colors,
    scheme_order,
    smoothing_note,
    smoothing_window,
)

SPLIT_NAMES = {"train": "training set", "val": "validation set", "test": "test set",
               "train_batch": "training batches"}


def group_curves(history: pd.DataFrame, split: str = "test", metric: str = "accuracy",
                 level: str = "group", smooth: int = 1) -> go.Figure:
    """One line per group over epochs (mean over seeds), a facet per scheme.

    Why: see above; the worst group at the last point (lowest accuracy, or highest
    loss/mse/perplexity: the direction comes from ``workbench.metrics.catalog``) gets a
    thick line and an annotation; a metric without a direction (share, weight) has none.
    ``split`` is "train", "val" or "test" (x = epoch) or "train_batch" (x = step: with
    ``metric="loss"`` the per-group training batch loss, the signal loss-based schemes react
    to). ``level`` is "group", "class" or "all" (the history's ``level`` column).
    Regression histories have "mse" instead of "accuracy". Epochs are numbered from 1 (the
    history's ``epoch``: evaluation after k epochs). ``smooth`` > 1 (per-step rows only)
    draws each seed's trailing rolling mean over that many steps (``True``: one epoch).

    Example:
        >>> import workbench as wb
        >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=2, model="linear"),
        ...                  schemes=["uniform", "inverse_frequency"], seeds=[0, 1])
        >>> fig = group_curves(cmp.frame("history"), split="train_batch", metric="loss")
        >>> len(fig.data), len(fig.layout.annotations)  # 2 x 2 lines; 2 titles + 2 notes
        (4, 4)
    """
    where = SPLIT_NAMES.get(split, split)
    title = f"Per-{level} {metric} on the {where}"
    if level not in ("group", "class", "all"):
        raise ValueError(f"level must be one of group, class, all; got {level!r}")
    if is_empty(history, ("scheme", "seed", "step", "epoch", "split", "group", "metric",
                          "value")):
        return empty_figure("no data: no training history", title)
    h = history[history["split"] == split]
    if h.empty:
        return empty_figure(f"no data: no '{split}' rows in the history", title)
    available = sorted(h["metric"].astype(str).unique())
    h = level_rows(h[h["metric"] == metric], level)
    h = h[np.isfinite(h["value"].to_numpy(dtype=float))]
    if h.empty:
        return empty_figure(f"no data: no per-{level} '{metric}' on {split} "
                            f"(available: {', '.join(available)})", title)
    x = "step" if split == "train_batch" else "epoch"
    window = smoothing_window(h, smooth) if x == "step" else 1
    h = rolling(h, window, ["scheme", "seed", "group"])
    higher = higher_is_better(metric)
    schemes = scheme_order(h["scheme"])
    keys = sorted(h["group"].astype(str).unique(), key=natural_key)
    colors = group_colors(keys)
    fig, cols = facets(schemes, title_colors=scheme_colors(schemes))
    for i, scheme in enumerate(schemes):
        stats = over_seeds(h[h["scheme"] == scheme], ["group", x])
        stats["group"] = stats["group"].astype(str)
        last = stats[stats[x] == stats[x].max()]
        worst = None
        if len(last) and higher is not None:
            k = last["mean"].idxmin() if higher else last["mean"].idxmax()
            worst = last.loc[k]
        for key in keys:
            s = stats[stats["group"] == key]
            if s.empty:
                continue
            is_worst = worst is not None and key == worst["group"]
            fig.add_trace(go.Scatter(
                x=s[x], y=s["mean"], mode="lines" if x == "step" else "lines+markers",
                name=key, legendgroup=key, showlegend=i == 0,
                line=dict(color=colors[key], width=4.5 if is_worst else 1.5),
                marker=dict(size=5),
                customdata=np.stack([s["min"], s["max"], s["count"]], 1),
                hovertemplate=(f"{key}<br>{x} %{{x}}<br>{metric} %{{y:.4f}}"
                               "<br>seeds: %{customdata[2]} (min %{customdata[0]:.4f}, "
                               "max %{customdata[1]:.4f})<extra></extra>")),
                **position(i, cols))
        if worst is not None:
            fig.add_annotation(x=worst[x], y=worst["mean"], text=f"worst: {worst['group']} "
                               f"({worst['mean']:.3f})", showarrow=True, arrowhead=2,
                               ax=-40, ay=30 if higher else -30, font=dict(size=11),
                               bgcolor="rgba(255,255,255,0.8)", **position(i, cols))
    label_axes(fig, x, metric, len(schemes), cols)
    if x == "epoch" and h["epoch"].nunique() <= 12:
        fig.update_xaxes(dtick=1)
    if metric == "accuracy":
        fig.update_yaxes(range=[-0.02, 1.02])
    note = (f"thick line = worst {level} at the end" if higher is not None
            else "no better direction: no worst")
    how = "; ".join(filter(None, ["mean over seeds", note, smoothing_note(window)]))
    return apply_layout(fig, f"{title} ({how})", legend_title=level)

