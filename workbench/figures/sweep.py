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

Readable at a glance: the x axis is named from the declared parameter (``setting_label``:
"long tail ratio (largest / smallest class size)", not ``imbalance.0.ratio``), a log axis
has its ticks at the swept values written in full (50 reads 50), and with ``points`` (one
row per run, ``Sweep.summaries``) every seed is a dot in its scheme's colour.

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

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..config import RunConfig
from ..data import DATASETS, TRANSFORMS
from ..metrics.catalog import direction_text
from ..models import MODELS
from ..params import specs
from ..schemes import SCHEMES
from .style import apply_layout, empty_figure, is_empty, scheme_colors, scheme_order, with_alpha

STATS = ("scheme", "metric", "mean", "std", "ci_low", "ci_high", "n")
FLAGS = ("clipped",)  # compare.interval_table: the interval was cut to the metric's range
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def _words(name: str) -> str:
    """'LongTail' -> 'long tail', 'n_per_class' -> 'n per class' (acronyms kept)."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", " ", name.replace("_", " "))
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in name.split())


def _gist(help_text: str) -> str:
    """The first clause of a parameter's help: up to the first '.', ';', ' (' or ': '."""
    text = re.split(r"\. |; | \(|: |, in [\[(]|\.$", help_text.strip(), maxsplit=1)[0].strip()
    return text[:1].lower() + text[1:] if text[1:2].islower() or len(text) < 2 else text


def _spec(path: str, config: RunConfig | None):
    """(the owner's words, the declared ParamSpec) of a dotted config path, or (None, None)."""
    parts = path.split(".")
    try:
        if parts[0] == "imbalance" and config is not None and len(parts) == 3:
            kind = config.imbalance[int(parts[1])]["kind"]
            return _words(TRANSFORMS.get(kind).__name__), _find(TRANSFORMS.spec(kind), parts[2])
        registry = {"dataset_params": (DATASETS, "dataset"), "scheme_params": (SCHEMES, "scheme"),
                    "model_params": (MODELS, "model")}.get(parts[0])
        if registry is not None and config is not None and len(parts) == 2:
            reg, field = registry
            owner = config.scheme if field == "scheme" else ""
            return owner, _find(reg.spec(getattr(config, field)), parts[1])
        if len(parts) == 1:
            return "", _find(specs(RunConfig), parts[0])
    except (IndexError, KeyError, ValueError, TypeError):
        pass
    return None, None


def _find(declared, name: str):
    return next((s for s in declared if s.name == name), None)


def setting_label(path: str, config: RunConfig | None = None) -> str:
    """A human axis label for a swept dotted path, from the parameter's declaration.

    The parameter's name in words, prefixed by its transform's name for an imbalance
    setting, then the first clause of its declared help in parentheses (left out when it
    only repeats the name). ``config`` (the sweep's base) says which transform, data set,
    scheme or model a path belongs to; without it, or for an undeclared path, the path is
    returned unchanged.

    Example:
        >>> cfg = RunConfig(imbalance=[{"kind": "longtail", "ratio": 50}])
        >>> setting_label("imbalance.0.ratio", cfg)
        'long tail ratio (largest / smallest class size)'
        >>> setting_label("lr")
        'lr (learning rate)'
    """
    owner, spec = _spec(path, config)
    if spec is None:
        return path
    name = " ".join(filter(None, [owner, _words(spec.name)]))
    gist = _gist(spec.help)
    if not gist or gist.lower() in name.lower() or len(gist) > 56:
        return name
    return f"{name} ({gist})"


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
                log_x: bool | None = None, points: pd.DataFrame | None = None,
                config: RunConfig | None = None) -> go.Figure:
    """``metric`` (mean over seeds, band = 95% CI) against the swept column ``x``.

    ``points``: one row per run (``Sweep.summaries``: the swept values, scheme, seed and a
    column per metric) drawn as dots in the scheme's colour, spread a little sideways per
    scheme so that they do not hide each other; ``config`` (the sweep's base) names the x
    axis from the parameter's declaration (:func:`setting_label`).

    Example:
        >>> t = pd.DataFrame({"imbalance.0.ratio": [1, 50], "scheme": "uniform",
        ...                   "metric": "accuracy", "mean": [0.9, 0.7], "std": 0.01,
        ...                   "ci_low": [0.88, 0.68], "ci_high": [0.92, 0.72], "n": 2})
        >>> runs = pd.DataFrame({"imbalance.0.ratio": [1, 1, 50, 50], "scheme": "uniform",
        ...                      "seed": [0, 1, 0, 1], "accuracy": [0.89, 0.91, 0.69, 0.71]})
        >>> cfg = RunConfig(imbalance=[{"kind": "longtail", "ratio": 50}])
        >>> fig = sweep_lines(t, metric="accuracy", points=runs, config=cfg)
        >>> fig.layout.xaxis.title.text, list(fig.layout.xaxis.ticktext)
        ('long tail ratio (largest / smallest class size)', ['1', '50'])
    """
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
    dots = _seed_dots(fig, points, x, metric, numeric, log_x, colors, xs)
    label = setting_label(x, config) if x != "scheme" else "scheme"
    fig.update_xaxes(title_text=label, type="log" if log_x else None)
    ticks = sorted(set(xs.tolist())) if numeric else []
    if 0 < len(ticks) <= 12:  # ticks at the swept values, written in full (50, not 5)
        fig.update_xaxes(tickvals=ticks, ticktext=[f"{v:g}" for v in ticks])
    fig.update_yaxes(title_text=f"{metric} ({direction_text(metric)})")
    note = f"; dots = {dots} runs, one per seed" if dots else ""
    return apply_layout(fig, title + note, height=440)


def _seed_dots(fig, points, x, metric, numeric, log_x, colors, xs) -> int:
    """One dot per run in its scheme's colour; returns how many were drawn."""
    if points is None or points.empty or metric not in points or x not in points:
        return 0
    pts = points[points[metric].notna() & points[x].notna()].copy()
    pts["scheme"] = [series_label(str(v), x) for v in pts["scheme"]]
    order = [sc for sc in scheme_order(pts["scheme"]) if sc in colors]
    span = (float(xs.max()) - float(xs.min())) if numeric and len(xs) else 0.0
    drawn = 0
    for k, scheme in enumerate(order):
        part = pts[pts["scheme"] == scheme]
        shift = (k - (len(order) - 1) / 2) * 0.035  # a little sideways per scheme
        xv = part[x].astype(float)
        if numeric:
            xv = xv * 10 ** shift if log_x else xv + shift * (span or 1.0)
        else:
            xv = part[x].astype(str)
        seeds = part["seed"].tolist() if "seed" in part else [""] * len(part)
        fig.add_trace(go.Scatter(
            x=xv, y=part[metric], mode="markers", name=f"{scheme}: one dot per seed",
            legendgroup=scheme, showlegend=True,
            marker=dict(color=colors[scheme], size=6, opacity=0.75,
                        line=dict(color="white", width=0.5)),
            hovertext=[f"{scheme}, seed {sd}<br>{x} = {v:g}<br>{metric} = {m:.4f}"
                       if numeric else f"{scheme}, seed {sd}<br>{metric} = {m:.4f}"
                       for sd, v, m in zip(seeds, part[x] if numeric else [0] * len(part),
                                           part[metric])],
            hoverinfo="text"))
        drawn += len(part)
    return drawn


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
            fillcolor=with_alpha(color, 0.15), line=dict(width=0), hoverinfo="skip", mode="lines",
            showlegend=False, legendgroup=name, name=f"{name} 95% CI"))
    error = None if numeric else dict(type="data", symmetric=False, visible=bool(has_ci.any()),
                                      array=np.where(has_ci, hi - mean, 0.0),
                                      arrayminus=np.where(has_ci, mean - lo, 0.0))
    fig.add_trace(go.Scatter(
        x=xv, y=mean, mode="lines+markers", name=name, legendgroup=name, error_y=error,
        line=dict(color=color, dash=dash, width=2), marker=dict(color=color, size=8),
        hovertext=hover, hoverinfo="text"))
