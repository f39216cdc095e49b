"""A sweep's curve: one metric against one swept value, a line per scheme, 95% bands.

Why: a sweep asks how a scheme's advantage changes with a setting (the imbalance ratio,
a scheme parameter, the learning rate); the answer is a curve per scheme whose band (the
95% t-interval over seeds from ``Sweep.table``) says where the curves really differ. A
numeric x gets lines and filled bands (a log axis when the values are positive and span
a factor of 20 or more, as imbalance ratios do); a non-numeric x (a data-set variant)
gets dots with error bars. Other swept values split a scheme's line into several (same
colour, another dash); with a scheme parameter as x, a scheme's variants make one line,
and a scheme that does not take that parameter (its value is None, e.g. uniform in a
sweep of ``scheme_params.r``) is drawn as a flat dotted reference line across the x range.

Example:
    >>> import pandas as pd
    >>> t = pd.DataFrame({"imbalance.0.ratio": [1, 10, 1, 10],
    ...                   "scheme": ["uniform"] * 2 + ["inverse_frequency"] * 2,
    ...                   "metric": ["balanced_accuracy"] * 4, "mean": [0.9, 0.7, 0.9, 0.8],
    ...                   "std": [0.01] * 4, "ci_low": [0.88, 0.68, 0.88, 0.78],
    ...                   "ci_high": [0.92, 0.72, 0.92, 0.82], "n": [2] * 4})
    >>> fig = sweep_lines(t)
    >>> [tr.name for tr in fig.data if tr.showlegend is not False]
    ['uniform', 'inverse_frequency']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..metrics.catalog import direction_text
from .style import apply_layout, empty_figure, is_empty, scheme_colors, scheme_order, with_alpha

STATS = ("scheme", "metric", "mean", "std", "ci_low", "ci_high", "n")
FLAGS = ("clipped",)  # compare.interval_table: the interval was cut to the metric's range
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def swept_columns(table: pd.DataFrame) -> list[str]:
    """The swept-value columns of a sweep table (everything but the statistics)."""
    return [c for c in table.columns if c not in STATS and c not in FLAGS]


def default_x(table: pd.DataFrame) -> str:
    """The first swept column that is not a scheme setting, else ``scheme``."""
    plain = [c for c in swept_columns(table) if not c.startswith("scheme_params")]
    return (plain or swept_columns(table) or ["scheme"])[0]


def series_label(label: str, x: str) -> str:
    """The scheme label without the swept scheme parameter ``x``, which the x axis shows.

    Example:
        >>> series_label("linupper(delta=2, r=0.5)", "scheme_params.r")
        'linupper(delta=2)'
    """
    if not x.startswith("scheme_params.") or not label.endswith(")") or "(" not in label:
        return label
    name, inner = label[:-1].split("(", 1)
    key = x.split(".", 1)[1] + "="
    kept = [p for p in inner.split(", ") if not p.startswith(key)]
    return f"{name}({', '.join(kept)})" if kept else name


def _numeric(values: pd.Series) -> bool:
    v = values.dropna()
    return len(v) > 0 and all(isinstance(x, (int, float, np.number)) and not isinstance(x, bool)
                              for x in v)


def sweep_lines(table: pd.DataFrame, x: str | None = None, metric: str = "balanced_accuracy",
                log_x: bool | None = None) -> go.Figure:
    """``metric`` (mean over seeds, band = 95% CI) against the swept column ``x``."""
    title = f"{metric} over the sweep: mean over seeds, band = 95% t-interval"
    if is_empty(table, STATS):
        return empty_figure("no data: the sweep has no finished runs", title)
    x = x or default_x(table)
    allowed = [*swept_columns(table), "scheme"]
    if x not in allowed:
        raise ValueError(f"x={x!r} is not a swept value of this sweep; valid: "
                         f"{', '.join(allowed)}")
    metrics = list(dict.fromkeys(table["metric"].astype(str)))
    if metric not in metrics:
        raise ValueError(f"unknown metric {metric!r}; metrics in the sweep: {', '.join(metrics)}")
    rows = table[table["metric"] == metric].copy()
    rows["scheme"] = [series_label(str(v), x) for v in rows["scheme"]]
    numeric = x != "scheme" and _numeric(rows[x])
    xs = rows[x].dropna()
    if log_x is None:
        log_x = bool(numeric and (xs > 0).all() and xs.max() >= 20 * xs.min())
    others = [c for c in swept_columns(table) if c != x and not c.startswith("scheme_params")]
    colors = scheme_colors(rows["scheme"])
    variants = list(dict.fromkeys(tuple(str(r[c]) for c in others)
                                  for _, r in rows.iterrows()))
    fig = go.Figure()
    for scheme in scheme_order(rows["scheme"]):
        for k, variant in enumerate(variants):
            part = rows[rows["scheme"] == scheme]
            for c, v in zip(others, variant):
                part = part[part[c].astype(str) == v]
            if part.empty:
                continue
            name = scheme + "".join(f", {c}={v}" for c, v in zip(others, variant))
            _series(fig, part, x, numeric, xs, name, colors[scheme], DASHES[k % 6], metric)
    fig.update_xaxes(title_text=x, type="log" if log_x else None)
    fig.update_yaxes(title_text=f"{metric} ({direction_text(metric)})")
    return apply_layout(fig, title, height=440)


def _series(fig, part, x, numeric, xs, name, color, dash, metric) -> None:
    if numeric and part[x].isna().all() and len(xs):  # no such parameter: a reference line
        r = part.iloc[0]
        part = pd.DataFrame({x: [xs.min(), xs.max()], **{c: [r[c]] * 2 for c in STATS}})
        dash, name = "dot", f"{name} (no {x})"
    part = part[part[x].notna()]
    if numeric:
        part = part.sort_values(x)
    xv = part[x].tolist() if numeric else part[x].astype(str).tolist()
    mean, lo, hi = (part[c].to_numpy(dtype=float) for c in ("mean", "ci_low", "ci_high"))
    has_ci = np.isfinite(lo) & np.isfinite(hi)
    hover = [f"<b>{name}</b><br>{x} = {xx}<br>{metric} = {m:.4f}"
             + (f"<br>95% CI [{a:.4f}, {b:.4f}]" if ok else "<br>no interval") + f" (n = {n})"
             for xx, m, a, b, ok, n in zip(xv, mean, lo, hi, has_ci, part["n"].astype(int))]
    if numeric and has_ci.any():
        bx = [v for v, ok in zip(xv, has_ci) if ok]
        fig.add_trace(go.Scatter(
            x=bx + bx[::-1], y=list(hi[has_ci]) + list(lo[has_ci][::-1]), fill="toself",
            fillcolor=with_alpha(color, 0.15), line=dict(width=0), hoverinfo="skip",
            showlegend=False, legendgroup=name, name=f"{name} 95% CI"))
    error = None if numeric else dict(type="data", symmetric=False, visible=bool(has_ci.any()),
                                      array=np.where(has_ci, hi - mean, 0.0),
                                      arrayminus=np.where(has_ci, mean - lo, 0.0))
    fig.add_trace(go.Scatter(
        x=xv, y=mean, mode="lines+markers", name=name, legendgroup=name, error_y=error,
        line=dict(color=color, dash=dash, width=2), marker=dict(color=color, size=8),
        hovertext=hover, hoverinfo="text"))
