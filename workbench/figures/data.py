"""The data view: what the imbalance transforms did, and where each scheme draws its borders.

Why: before judging a scheme, a user needs to see the training data it faced: how many
samples of each class and group survived the long-tail / group-minority transforms (the
val and test splits are untouched), and, on 2-D data, how each scheme's decision regions
treat the minority sub-blobs that plain ERM sacrifices first.

Example:
    >>> info = {"class_names": ["a", "b"], "group_names": ["g"],
    ...         "counts_before": {"class": [50, 50], "group": [100]},
    ...         "counts_after": {"class": [50, 5], "group": [55]},
    ...         "counts_test": {"class": [20, 20], "group": [40]}}
    >>> len(count_bars(info).data)  # before, after, test x (class, group)
    6
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .style import (
    GROUP_PALETTE,
    SPLIT_COLORS,
    apply_layout,
    empty_figure,
    facets,
    is_empty,
    label_axes,
    markers_trace,
    natural_key,
    position,
    scheme_colors,
    scheme_order,
)

SERIES = (("counts_before", "train, before transforms", "before"),
          ("counts_after", "train, after transforms", "after"),
          ("counts_test", "test", "test"))
SYMBOLS = ("circle", "diamond", "square", "triangle-up", "star", "cross", "x", "pentagon")


def count_bars(info: dict | None) -> go.Figure:
    """Class and group counts: training split before and after the transforms, and test.

    Why: shows the imbalance a run trained under (e.g. long-tail ratio 50: 96 vs 2 samples)
    next to the untouched test profile the metrics are computed on. Takes ``run.info``;
    one subplot for classes (absent for regression) and one for groups.

    Example:
        >>> import workbench as wb
        >>> run = wb.train(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"))
        >>> [a.text for a in count_bars(run.info).layout.annotations]
        ['classes', 'groups']
    """
    title = "Sample counts per class and group"
    if not isinstance(info, dict) or not any(info.get(k) for k, _, _ in SERIES):
        return empty_figure("no data: the run has no count information", title)
    names = {"class": list(info.get("class_names") or []),
             "group": list(info.get("group_names") or [])}
    levels = [lv for lv in ("class", "group")
              if any((info.get(k) or {}).get(lv) for k, _, _ in SERIES)]
    if not levels:
        return empty_figure("no data: the run has no count information", title)
    fig, cols = facets([f"{lv}es" if lv == "class" else f"{lv}s" for lv in levels],
                       max_cols=2, shared_y=False)
    for i, lv in enumerate(levels):
        for key, label, short in SERIES:
            counts = (info.get(key) or {}).get(lv)
            if not counts:
                continue
            x = [str(names[lv][j]) if j < len(names[lv]) else str(j) for j in range(len(counts))]
            fig.add_trace(go.Bar(x=x, y=list(counts), name=label, legendgroup=short,
                                 showlegend=i == 0, marker_color=SPLIT_COLORS[short],
                                 hovertemplate=f"{lv} %{{x}}<br>{label}: %{{y}}<extra></extra>"),
                          **position(i, cols))
        fig.update_xaxes(title_text=lv, type="category", **position(i, cols))
        if i % cols == 0:  # the first column only: between facets it runs into the bars
            fig.update_yaxes(title_text="samples", **position(i, cols))
    fig.update_layout(barmode="group")
    return apply_layout(fig, f"{title}: the transforms change the training split only",
                        legend_title="split", height=420)


def _class_order(points: pd.DataFrame, class_names: Sequence[str] | None,
                 n_pred: int) -> list[str]:
    if class_names:
        return [str(c) for c in class_names]
    labels = sorted({str(v) for v in points["label"]}, key=natural_key) if len(points) else []
    return labels if len(labels) >= n_pred else [str(c) for c in range(n_pred)]


def decision_boundaries(boundary: pd.DataFrame, points: pd.DataFrame | None = None,
                        class_names: Sequence[str] | None = None) -> go.Figure:
    """Predicted-class regions on the 2-D grid, one facet per scheme, training points on top.

    Why: on ``blobs2d`` every class has a minority sub-blob next to its neighbour; ERM
    gives it away, class and group reweighting pull the border back. Regions come from the
    first seed of each scheme (``Comparison.frame("boundary")``: x0, x1, pred, confidence);
    ``points`` is ``workbench.data.prepare.points_frame(...)`` (x0, x1, label, group), drawn
    coloured by class, the groups by symbol (largest group: circles; smaller ones:
    diamonds, squares, ...). ``class_names`` maps predicted ids to point labels (default:
    the point labels in natural order, e.g. "class 0", "class 1", ...).

    Example:
        >>> import workbench as wb
        >>> from workbench.data.prepare import points_frame
        >>> cfg = wb.RunConfig(dataset="blobs2d", epochs=1, model="linear")
        >>> cmp = wb.compare(cfg, schemes=["uniform", "inverse_frequency"], seeds=[0])
        >>> pts = points_frame("blobs2d", {}, [], 0)
        >>> fig = decision_boundaries(cmp.frame("boundary"), pts)
        >>> len(fig.data)  # per scheme: 1 heatmap + 3 classes x 2 groups
        14
    """
    title = "Decision regions per scheme"
    if is_empty(boundary, ("scheme", "seed", "x0", "x1", "pred")):
        return empty_figure("no data: decision regions exist for 2-D classification data only",
                            title)
    pts = points if not is_empty(points, ("x0", "x1", "label")) else pd.DataFrame(
        columns=["x0", "x1", "label", "group"])
    n_pred = int(boundary["pred"].max()) + 1
    classes = _class_order(pts, class_names, n_pred)
    n_cls = max(len(classes), n_pred)
    palette = [GROUP_PALETTE[k % len(GROUP_PALETTE)] for k in range(n_cls)]
    color_of = {c: palette[k] for k, c in enumerate(classes)}
    # a stepwise colour scale: class k covers [k, k + 1) / n_cls
    scale = []
    for k, col in enumerate(palette):
        scale += [[k / n_cls, col], [(k + 1) / n_cls, col]]
    schemes = scheme_order(boundary["scheme"])
    fig, cols = facets(schemes, title_colors=scheme_colors(schemes))
    groups = (pts["group"].astype(str).value_counts().index.tolist()
              if "group" in pts.columns and len(pts) else [])
    symbol = {g: SYMBOLS[k % len(SYMBOLS)] for k, g in enumerate(groups)}
    for i, scheme in enumerate(schemes):
        b = boundary[boundary["scheme"] == scheme]
        b = b[b["seed"] == b["seed"].min()]
        z = b.pivot_table(index="x1", columns="x0", values="pred", aggfunc="first")
        conf = b.pivot_table(index="x1", columns="x0", values="confidence", aggfunc="first") \
            if "confidence" in b.columns else z * np.nan
        fig.add_trace(go.Heatmap(
            x=z.columns.to_numpy(), y=z.index.to_numpy(), z=z.to_numpy(),
            zmin=-0.5, zmax=n_cls - 0.5, colorscale=scale, showscale=False, opacity=0.35,
            customdata=conf.to_numpy(), name=f"{scheme} regions",
            hovertemplate="x0 %{x:.2f}, x1 %{y:.2f}<br>predicted class %{z}"
                          "<br>confidence %{customdata:.2f}<extra></extra>"),
            **position(i, cols))
        for cls in classes:
            for g in groups or [None]:
                sel = pts["label"].astype(str) == cls
                if g is not None:
                    sel &= pts["group"].astype(str) == g
                part = pts[sel]
                if part.empty:
                    continue
                name = cls if g is None else f"{cls} · {g}"
                fig.add_trace(markers_trace(len(pts) * len(schemes))(
                    x=part["x0"], y=part["x1"], mode="markers", name=name, legendgroup=name,
                    showlegend=i == 0,
                    marker=dict(color=color_of.get(cls, "#333333"), size=6,
                                symbol=symbol.get(g, "circle"), line=dict(width=0.5,
                                                                          color="white")),
                    hovertemplate=f"{name}<br>x0 %{{x:.2f}}, x1 %{{y:.2f}}<extra></extra>"),
                    **position(i, cols))
    label_axes(fig, "x0", "x1", len(schemes), cols)
    seeds = sorted(pd.unique(boundary["seed"]))
    note = f"seed {seeds[0]}" if len(seeds) == 1 else "first seed of each scheme"
    return apply_layout(fig, f"{title} ({note}); training points by class, groups by symbol",
                        legend_title="class · group")
