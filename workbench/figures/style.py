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

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

TEMPLATE = "plotly_white"
FONT = dict(family="Inter, Helvetica, Arial, sans-serif", size=13)
BASELINE = "#4D4D4D"  # uniform / ERM
# 23 colours, slot 0 the baseline grey, slots 1 and 2 Okabe-Ito's blue and orange (Okabe &
# Ito 2008); the rest chosen greedily (max-min) from an 18-level sRGB grid with lightness J'
# in [35, 72] (none pale on white) and chroma >= 15, each maximising its smallest CAM02-UCS
# distance to the colours already chosen under normal vision and simulated deuteranopia,
# protanopia and tritanopia (Machado et al. 2009, severity 100, as colorspacious computes
# them). The first 12 slots stay >= 12.5 apart (ΔE' in CAM02-UCS) in all four, all 23 >= 8;
# tests/test_palette.py recomputes it. The most used schemes have the first slots.
PALETTE = [BASELINE, "#0072B2", "#E69F00", "#965A0F", "#00C3B4", "#B496FF", "#FF4B78",
           "#B41E78", "#C37800", "#9669FF", "#3C0FFF", "#96001E", "#5A784B", "#6996B4",
           "#780FA5", "#C38796", "#FF785A", "#2D5A69", "#F0004B", "#C32DB4", "#A56987",
           "#785A87", "#961E4B"]
KNOWN_SCHEMES = {  # fixed slots, so a scheme looks the same in every figure and notebook
    "uniform": 0, "inverse_frequency": 1, "linupper": 2, "group_dro": 3, "focal": 4,
    "jtt": 5, "kl_dro": 6, "temperature_sampling": 7, "quadratic": 8, "extremes": 9,
    "effective_number": 10, "cvar": 11, "logit_adjustment": 12, "cooldown": 13, "doremi": 14,
    "fairness_reweighing": 15, "importance_weighting": 16, "el2n": 17, "grand": 18, "rs2": 19,
    "softdedup": 20, "fair_error_bound": 21, "drw": 22,
}
# groups / classes: Okabe-Ito, its blue and orange moved back (the first two schemes have
# them), then Tableau; drawn inside facets whose titles carry the scheme's colour
GROUP_PALETTE = ["#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#0072B2", "#E69F00",
                 "#000000", "#999999", "#8C564B", "#17BECF", "#BCBD22", "#F0E442"]
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
    labels move to the next free slot (only when more than 23 labels share a figure do
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


HEADLINE = 48  # characters of a title's first line: fits a 500 px figure at 16 px bold
DETAIL = 78  # characters per line of the smaller subtitle under it


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at spaces (a longer word
    gets a line of its own).

    Example:
        >>> wrap("mean over seeds; band = min-max", 16)
        ['mean over seeds;', 'band = min-max']
    """
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def split_title(title: str) -> tuple[str, str]:
    """(headline, detail): a title that does not fit one line of ``HEADLINE`` characters is
    cut at its first ": " or " (" within that length (the detail keeps the parentheses),
    else at a space.

    Why: Plotly never wraps a title; one longer than its figure is cut at the edge (the
    Weights, Calibration and Learn titles were at 1024 px). The detail goes to the smaller
    subtitle, wrapped, so every word stays visible at any width down to about 500 px.

    Example:
        >>> split_title("Per-group accuracy on the test set (mean over seeds; thick line)")
        ('Per-group accuracy on the test set', '(mean over seeds; thick line)')
    """
    title = " ".join(title.replace("<br>", " ").split())
    if len(title) <= HEADLINE:
        return title, ""
    cuts = [i for i in (title.find(": "), title.find(" (")) if 0 < i <= HEADLINE]
    if cuts:
        i = min(cuts)
        return title[:i], title[i:].removeprefix(": ").strip()
    head = wrap(title, HEADLINE)[0]
    return head, title[len(head):].strip()


def full_title(fig: go.Figure) -> str:
    """A figure's headline and subtitle as one line of text (for tests and captions)."""
    t = fig.layout.title
    parts = [t.text or "", (t.subtitle.text or "") if t.subtitle else ""]
    return " ".join(" ".join(p.replace("<br>", " ").split()) for p in parts if p)


def apply_layout(fig: go.Figure, title: str, legend_title: str | None = "scheme",
                 height: int | None = None, top: int = 0) -> go.Figure:
    """The common layout: white template, title top-left, legend on the right.

    A long ``title`` is split (:func:`split_title`) into a headline and a wrapped subtitle;
    the top margin grows with the subtitle's lines, plus ``top`` pixels for figures whose
    facet titles take two lines.
    """
    head, detail = split_title(title)
    lines = wrap(detail, DETAIL)
    set_template(fig)
    fig.update_layout(
        font=FONT,
        title=dict(text=head, x=0.01, xanchor="left", font=dict(size=16),
                   subtitle=dict(text="<br>".join(lines), font=dict(size=12, color="#555555")),
                   y=1.0, yanchor="top", yref="container", pad=dict(t=14)),
        legend=dict(title=dict(text=legend_title or ""), tracegroupgap=4),
        margin=dict(l=60, r=20, t=70 + 16 * len(lines) + top, b=60), hovermode="closest")
    if height:
        fig.update_layout(height=height + 16 * len(lines))
    return fig


def set_template(fig: go.Figure, name: str = TEMPLATE) -> go.Figure:
    """Give ``fig`` the registered template ``name`` without validating it again.

    Why: ``update_layout(template="plotly_white")`` validates the whole template, property
    by property, on every figure: 20 of a figure's 25 ms, and a tab draws up to 8 figures
    (it made tab switches and the live views' redraws slow). A registered template is valid
    already; Plotly itself sets its default template this way
    (``BaseFigure._initialize_layout_template``). The figure's JSON is identical.

    Example:
        >>> set_template(go.Figure()).layout.template.layout.plot_bgcolor
        'white'
    """
    layout = fig.layout
    layout._validate = False  # noqa: SLF001 - Plotly's own way for a registered template
    try:
        layout.template = pio.templates[name]
    finally:
        layout._validate = True
    return fig


SVG_MAX_POINTS = 3000  # a figure with more markers than this draws them with WebGL


def markers_trace(n_points: int):
    """``go.Scatter`` (SVG) for a figure of up to ``SVG_MAX_POINTS`` markers, else
    ``go.Scattergl`` (WebGL).

    Why: WebGL draws tens of thousands of points, but a WebGL context is slow to make in a
    browser without a GPU (software rendering: headless Chromium, many teaching VMs):
    opening the Samples tab (2,304 markers) from Groups took 0.13-1.77 s with WebGL and
    0.20-0.28 s with SVG in headless Chromium. SVG is the steadier choice for a few
    thousand points.

    Example:
        >>> markers_trace(100).__name__, markers_trace(100_000).__name__
        ('Scatter', 'Scattergl')
    """
    return go.Scatter if n_points <= SVG_MAX_POINTS else go.Scattergl


def empty_figure(message: str = NO_DATA, title: str = "") -> go.Figure:
    """A figure that says why there is nothing to show, instead of raising.

    Every builder returns this for an empty frame; the message starts with "no data" (the
    app can test ``is_empty_figure(fig)``).

    Example:
        >>> empty_figure("no data: pick a run").layout.annotations[0].text
        'no data: pick a run'
    """
    fig = go.Figure()
    lines = [line for part in message.split("<br>") for line in wrap(part, 64)]
    fig.add_annotation(text="<br>".join(lines), x=0.5, y=0.5, xref="paper", yref="paper",
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


def smoothing_window(history: pd.DataFrame, smooth: int | bool | None, auto: bool = False) -> int:
    """The rolling window, in steps, that ``smooth`` asks for on per-step rows.

    ``smooth`` is a number of steps (1 or 0: raw), ``True`` (one epoch's steps) or
    ``None`` (``auto``: one epoch when the curve jumps by more than 0.01 per step, else raw;
    without ``auto``: raw). One epoch = the median number of steps per (scheme, seed, epoch).

    Example:
        >>> h = pd.DataFrame({"scheme": "s", "seed": 0, "step": range(8),
        ...                   "epoch": [0] * 4 + [1] * 4, "value": [0.0, 1.0] * 4})
        >>> smoothing_window(h, True), smoothing_window(h, None, auto=True), smoothing_window(h, 3)
        (4, 4, 3)
    """
    if smooth is False or smooth is None and not auto:
        return 1
    if smooth is not True and smooth is not None:
        if int(smooth) < 0:
            raise ValueError(f"smooth must be a number of steps >= 0, got {smooth!r}")
        return max(int(smooth), 1)
    keys = [c for c in ("scheme", "seed", "group", "epoch") if c in history.columns]
    epoch = max(int(history.groupby(keys)["step"].nunique().median()), 1) if len(history) else 1
    if smooth is None:  # auto: only when noisy
        wide = history.pivot_table(index="step", columns=[c for c in keys if c != "epoch"],
                                   values="value", aggfunc="mean").sort_index()
        jumps = wide.diff().abs().median().median()
        return epoch if np.isfinite(jumps) and jumps > 0.01 else 1
    return epoch


def rolling(frame: pd.DataFrame, window: int, by: Sequence[str], x: str = "step",
            value: str = "value") -> pd.DataFrame:
    """``value`` replaced by its trailing rolling mean over ``window`` rows of each ``by``
    series (sorted by ``x``; the first points average what there is). ``window`` 1: as is.

    Why trailing: a point then only uses the past, as a training log does, so a smoothed
    curve never shows a change before it happened.

    Example:
        >>> f = pd.DataFrame({"k": "a", "step": [0, 1, 2, 3], "value": [0.0, 2.0, 4.0, 6.0]})
        >>> rolling(f, 2, ["k"])["value"].tolist()
        [0.0, 1.0, 3.0, 5.0]
    """
    if window <= 1 or frame.empty:
        return frame
    out = frame.reset_index(drop=True)  # rows keep their order (schemes: first appearance)
    ordered = out.sort_values(x, kind="stable")
    out[value] = (ordered.groupby(list(by), sort=False, observed=True)[value]
                  .transform(lambda s: s.rolling(window, min_periods=1).mean()))
    return out


def smoothing_note(window: int) -> str:
    """The words a title adds when a curve is smoothed ("" when it is not)."""
    return f"rolling mean over {window} steps" if window > 1 else ""


def shown_epoch(epoch: int | float) -> int:
    """The 1-based epoch number a figure shows for a per-step row's ``epoch`` (0-based: the
    epoch in progress, ``step // steps_per_epoch``). Evaluation rows of the history are
    already 1-based (``epoch`` k: after k epochs), so both read "epoch k" for the k-th pass.

    Example:
        >>> shown_epoch(0)
        1
    """
    return int(epoch) + 1
