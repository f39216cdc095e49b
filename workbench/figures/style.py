"""One look for every figure: scheme colours, group colours, facets, the "no data" figure.

Why: the app and the notebooks put several figures of one comparison side by side, so a
scheme must keep its colour everywhere. ``scheme_colors`` gives every registered scheme a
fixed slot (uniform, the ERM baseline, is always dark grey) and any other label (a new
scheme, or a variant such as ``linupper(r=0.4)``) a slot hashed from its name, so the
colour of a label never depends on which other schemes a figure happens to show (unless
two labels collide; then the later one in sorted order moves to the next free slot).

Example:
    >>> scheme_colors(["uniform", "linupper"])["uniform"]
    '#4D4D4D'
    >>> is_empty_figure(empty_figure("no data: nothing trained yet"))
    True
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

TEMPLATE = "plotly_white"
FONT = dict(family="Inter, Helvetica, Arial, sans-serif", size=13)
BASELINE = "#4D4D4D"  # uniform / ERM
# 20 distinguishable colours (Tableau 20 reordered: saturated first); slot 0 is the baseline.
PALETTE = [BASELINE, "#1F77B4", "#D62728", "#2CA02C", "#FF7F0E", "#9467BD", "#17BECF",
           "#8C564B", "#E377C2", "#BCBD22", "#AEC7E8", "#FF9896", "#98DF8A", "#FFBB78",
           "#C5B0D5", "#9EDAE5", "#C49C94", "#F7B6D2", "#DBDB8D", "#7F7F7F"]
KNOWN_SCHEMES = {  # fixed slots, so the core schemes look the same in every notebook
    "uniform": 0, "inverse_frequency": 1, "linupper": 2, "group_dro": 3, "quadratic": 4,
    "extremes": 5, "temperature_sampling": 6, "kl_dro": 7, "focal": 8, "effective_number": 9,
    "cooldown": 15, "jtt": 11, "cvar": 12, "fairness_reweighing": 13, "doremi": 14,
}
# groups / classes: a palette distinct from the schemes' (Okabe-Ito + Tableau)
GROUP_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                 "#F0E442", "#000000", "#999999", "#8C564B", "#17BECF", "#BCBD22"]
HISTORY_COLUMNS = ("scheme", "seed", "step", "epoch", "split", "group", "metric", "value")
SPLIT_COLORS = {"before": "#BAB0AC", "after": "#4C78A8", "test": "#54A24B"}
NO_DATA = "no data"


def natural_key(text: object) -> tuple:
    """Sort key that puts "2" before "10" and "g2" before "g10"."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text)))


def _slot(label: str) -> int:
    if label in KNOWN_SCHEMES:
        return KNOWN_SCHEMES[label]
    digest = hashlib.md5(label.encode()).hexdigest()
    return 1 + int(digest, 16) % (len(PALETTE) - 1)  # never the baseline grey


def scheme_colors(labels: Iterable[object]) -> dict[str, str]:
    """Colour of every scheme label: fixed for registered names, hashed for the rest.

    Known names are placed first so that they always keep their own colour; colliding
    labels move to the next free slot (only when more than 20 labels share a figure do
    colours repeat).

    Example:
        >>> c = scheme_colors(["linupper(r=0.4)", "linupper", "uniform"])
        >>> c["linupper"] != c["linupper(r=0.4)"]
        True
    """
    names = sorted({str(v) for v in labels}, key=lambda s: (s not in KNOWN_SCHEMES, s))
    taken: set[int] = set()
    out = {}
    for name in names:
        slot = _slot(name)
        for k in range(len(PALETTE)):
            cand = (slot + k) % len(PALETTE)
            if cand not in taken or len(taken) >= len(PALETTE):
                slot = cand
                break
        taken.add(slot)
        out[name] = PALETTE[slot]
    return out


def scheme_order(labels: Iterable[object]) -> list[str]:
    """Schemes in order of first appearance (the order the comparison was given in)."""
    return list(dict.fromkeys(str(v) for v in labels))


def group_colors(names: Iterable[object]) -> dict[str, str]:
    """Colours for groups or classes, in natural order; "all" is black.

    Example:
        >>> group_colors(["odd", "even", "all"])["all"]
        '#222222'
    """
    out, k = {}, 0
    for name in sorted({str(v) for v in names}, key=natural_key):
        if name == "all":
            out[name] = "#222222"
            continue
        out[name] = GROUP_PALETTE[k % len(GROUP_PALETTE)]
        k += 1
    return out


def level_rows(history: pd.DataFrame, level: str) -> pd.DataFrame:
    """History rows of one level: "group", "class" or "all" (the ``level`` column)."""
    return history[history["level"] == level]


def with_alpha(color: str, alpha: float) -> str:
    """'#RRGGBB' -> 'rgba(r, g, b, alpha)' for bands and fills."""
    h = color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def is_empty(frame: pd.DataFrame | None, columns: Sequence[str] = ()) -> bool:
    """True when the frame is None, has no rows, or lacks one of ``columns``."""
    return frame is None or len(frame) == 0 or any(c not in frame.columns for c in columns)


def apply_layout(fig: go.Figure, title: str, legend_title: str | None = "scheme",
                 height: int | None = None) -> go.Figure:
    """The common layout: white template, title top-left, legend on the right."""
    fig.update_layout(template=TEMPLATE, font=FONT, title=dict(text=title, x=0.01, xanchor="left"),
                      legend=dict(title=dict(text=legend_title or ""), tracegroupgap=4),
                      margin=dict(l=60, r=20, t=80, b=60), hovermode="closest")
    if height:
        fig.update_layout(height=height)
    return fig


def empty_figure(message: str = NO_DATA, title: str = "") -> go.Figure:
    """A figure that says why there is nothing to show, instead of raising.

    Every builder returns this for an empty frame; the message starts with "no data" (the
    app can test ``is_empty_figure(fig)``).

    Example:
        >>> empty_figure("no data: pick a run").layout.annotations[0].text
        'no data: pick a run'
    """
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font=dict(size=16, color="#777777"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    apply_layout(fig, title, legend_title=None, height=320)
    fig.update_layout(meta={"empty": True})
    return fig


def is_empty_figure(fig: go.Figure) -> bool:
    """True for figures made by :func:`empty_figure`."""
    meta = fig.layout.meta
    return isinstance(meta, dict) and bool(meta.get("empty"))


def facets(titles: Sequence[str], max_cols: int = 3, shared_y: bool = True,
           title_colors: dict[str, str] | None = None, **kwargs) -> tuple[go.Figure, int]:
    """Subplots, one per title, ``max_cols`` per row; returns (figure, number of columns).

    Facet titles of schemes are drawn in the scheme's colour.
    """
    n = max(len(titles), 1)
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(titles), shared_yaxes=shared_y,
                        horizontal_spacing=0.06 if shared_y else 0.09,
                        vertical_spacing=min(0.12, 0.3 / rows) if rows > 1 else 0.1, **kwargs)
    if title_colors:
        for ann in fig.layout.annotations:
            if ann.text in title_colors:
                ann.font = dict(color=title_colors[ann.text], size=14)
    fig.update_layout(height=max(360, 300 * rows + 80))
    return fig, cols


def position(i: int, cols: int) -> dict[str, int]:
    """row/col keyword arguments of facet ``i``."""
    return {"row": i // cols + 1, "col": i % cols + 1}


def label_axes(fig: go.Figure, x: str, y: str, n: int, cols: int) -> go.Figure:
    """Axis titles on the bottom facets (x) and the first column (y)."""
    rows = math.ceil(max(n, 1) / cols)
    for i in range(n):
        r, c = i // cols + 1, i % cols + 1
        if r == rows or i + cols >= n:
            fig.update_xaxes(title_text=x, row=r, col=c)
        if c == 1:
            fig.update_yaxes(title_text=y, row=r, col=c)
    return fig


def band(x, lo, hi, color: str, name: str, legendgroup: str) -> go.Scatter:
    """A filled min-max band (one polygon trace) behind a mean line."""
    xs = list(x) + list(x)[::-1]
    ys = list(lo) + list(hi)[::-1]
    return go.Scatter(x=xs, y=ys, fill="toself", fillcolor=with_alpha(color, 0.18),
                      line=dict(width=0), hoverinfo="skip", name=f"{name} (min-max over seeds)",
                      legendgroup=legendgroup, showlegend=False, mode="lines")


def unit_line(fig: go.Figure, facetted: bool = True) -> go.Figure:
    """A dotted reference line at weight 1: uniform weighting (the mean of fixed weights over
    the training set, of per-batch weights over the batch)."""
    where = {"row": "all", "col": "all"} if facetted else {}
    fig.add_hline(y=1.0, line=dict(color="#999999", dash="dot", width=1), **where)
    return fig


def over_seeds(frame: pd.DataFrame, by: list[str], value: str = "value") -> pd.DataFrame:
    """Mean, min, max and number of seeds of ``value`` per ``by`` (sorted by ``by``)."""
    out = frame.groupby(by, sort=True, observed=True)[value].agg(["mean", "min", "max", "count"])
    return out.reset_index()
