"""How the weights move during training: per sample, per group, and their spread (ESS).

Why: the end metrics say *whether* a scheme helped; these figures say *what it did*:
weight pushed onto hard samples (or, for LinUpper, off easy ones), Group DRO's mass moving
to the worst group, weights collapsing onto a few samples (falling ESS). Inputs:
``Comparison.frame("weights")`` and ``frame("history")``.

Example:
    >>> weight_histogram(None).layout.annotations[0].text
    'no data: no tracked-sample weights'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch

from ..recording import stratified_subset
from . import style as st

WEIGHT_COLUMNS = ("scheme", "seed", "step", "epoch", "sample_id", "group", "weight")


def _color_key(weights: pd.DataFrame, color_by: str) -> tuple[pd.Series, str]:
    """The column to colour by, as strings; classes only when labels are class ids."""
    if color_by == "class" and "label" in weights.columns:
        lab = pd.to_numeric(weights["label"], errors="coerce")
        if lab.notna().all() and np.allclose(lab, np.round(lab)):
            return "class:" + lab.astype(int).astype(str), "class"
    return weights["group"].astype(str), "group"


def _pick_samples(frame: pd.DataFrame, ids: np.ndarray, k: int) -> np.ndarray:
    """About k of ``ids``, spread evenly over (colour key, noisy) strata, deterministic."""
    per = frame.drop_duplicates("sample_id").set_index("sample_id").loc[ids]
    codes = pd.factorize(per["_key"].astype(str) + per["_noisy"].astype(str))[0]
    return np.sort(ids[stratified_subset(torch.as_tensor(codes), k, seed=0).numpy()])


def _lines(frame: pd.DataFrame) -> tuple[list, list, list, list]:
    """x, y, sample ids and marker sizes (× on noisy samples), samples split by None gaps."""
    xs, ys, ids, size = [], [], [], []
    for sid, s in frame.sort_values(["sample_id", "step"]).groupby("sample_id", sort=False):
        xs += s["step"].tolist() + [None]
        ys += s["weight"].tolist() + [None]
        ids += [sid] * len(s) + [None]
        size += [7 if s["_noisy"].iloc[0] else 0] * (len(s) + 1)
    return xs, ys, ids, size


def weight_trajectories(weights: pd.DataFrame, color_by: str = "group", max_samples: int = 40,
                        seed: int | None = None) -> go.Figure:
    """Per-sample weight over steps for up to ``max_samples`` tracked samples, per scheme.

    Why: do a scheme's weights follow the group (static: flat bands), the loss (dynamic:
    samples drift as they are learned), or collapse? Facet per scheme, one training seed
    (``seed``; default each scheme's smallest); the same samples in every facet where the
    runs tracked the same ones, spread over groups (or classes, ``color_by="class"``) and
    noisy/clean. Noisy-label samples are marked ×.

    Example:
        >>> import workbench as wb
        >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"),
        ...                  schemes=["uniform"], seeds=[0])
        >>> len(weight_trajectories(cmp.frame("weights"), color_by="class").data)  # 3 classes
        3
    """
    title = "Per-sample weights of tracked samples"
    if st.is_empty(weights, WEIGHT_COLUMNS):
        return st.empty_figure("no data: no tracked-sample weights recorded", title)
    w = weights.copy()
    w["_key"], level = _color_key(w, color_by)
    w["_noisy"] = w["noisy"].astype(bool) if "noisy" in w.columns else False
    runs = []
    for scheme in st.scheme_order(w["scheme"]):
        rows = w[w["scheme"] == scheme]
        s = seed if seed is not None else rows["seed"].min()
        rows = rows[rows["seed"] == s]
        if len(rows):
            runs.append((scheme, s, rows))
    if not runs:
        return st.empty_figure(f"no data: no run with seed {seed}", title)
    common = set.intersection(*[set(r["sample_id"].unique()) for _, _, r in runs])
    keys = sorted(w["_key"].unique(), key=st.natural_key)
    colors = st.group_colors(keys)
    palette = st.scheme_colors(r[0] for r in runs)
    titles = {f"{sc}<br>seed {s}": palette[sc] for sc, s, _ in runs}  # two lines: narrow facets
    fig, cols = st.facets(list(titles), title_colors=titles)
    n_samples = 0
    for i, (_, _, rows) in enumerate(runs):
        pool = np.asarray(sorted(common) if common else sorted(rows["sample_id"].unique()))
        ids = _pick_samples(rows, pool, max_samples)
        n_samples = max(n_samples, len(ids))
        chosen = rows[rows["sample_id"].isin(ids)]
        for key in keys:
            part = chosen[chosen["_key"] == key]
            if part.empty:
                continue
            xs, ys, sids, size = _lines(part)
            # markers only where a × is drawn: a marker per step of 40 samples was 7,000
            # SVG nodes, and leaving the Weights tab took the browser 2 s
            fig.add_trace(go.Scatter(
                x=xs, y=ys, customdata=sids, mode="lines+markers" if any(size) else "lines",
                name=key, legendgroup=key,
                showlegend=not any(t.name == key for t in fig.data), connectgaps=False,
                opacity=0.8,
                line=dict(color=colors[key], width=1.2),
                marker=dict(symbol="x", size=size, color=colors[key]),
                hovertemplate=f"{level} {key}<br>sample %{{customdata}}<br>step %{{x}}"
                              "<br>weight %{y:.3f}<extra></extra>"), **st.position(i, cols))
    st.label_axes(st.unit_line(fig), "step", "weight (1 = uniform)", len(runs), cols)
    note = "; × = noisy label" if w["_noisy"].any() else ""
    return st.apply_layout(fig, f"Per-sample weights of tracked samples ({n_samples} per "
                           f"scheme, one seed each; coloured by {level}{note})",
                           legend_title=level, top=18)


def group_weight_over_steps(history: pd.DataFrame, level: str = "group",
                            metric: str = "weight", smooth: int = 1) -> go.Figure:
    """Per-group (or per-class) mean weight in each training batch, over steps.

    Why: inverse-frequency keeps the rare group's weight high and flat, Group DRO's grows
    while its loss stays high, loss-based schemes move it as the group is learned. Mean over
    seeds, band = min-max; facet per scheme. ``level="class"`` uses the class rows;
    ``metric="share"`` shows the batch composition (what sampling schemes change).
    Per-step values are noisy (one batch each): ``smooth`` > 1 draws each seed's trailing
    rolling mean over that many steps before the mean over seeds (``True``: one epoch); the
    title says so.

    Example:
        >>> import workbench as wb
        >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"),
        ...                  schemes=["uniform", "inverse_frequency"], seeds=[0, 1])
        >>> fig = group_weight_over_steps(cmp.frame("history"))
        >>> len(fig.data)  # 2 schemes x 2 groups x (band + line)
        8
    """
    what = {"weight": "mean weight", "share": "share of the batch", "loss": "mean loss"}
    label = what.get(metric, metric)
    title = f"Per-{level} {label} per training step"
    if level not in ("group", "class"):
        raise ValueError(f"level must be 'group' or 'class', got {level!r}")
    if st.is_empty(history, st.HISTORY_COLUMNS):
        return st.empty_figure("no data: no training history", title)
    h = history[(history["split"] == "train_batch") & (history["metric"] == metric)]
    h = st.level_rows(h, level)
    h = h[np.isfinite(h["value"].to_numpy(dtype=float))]
    if h.empty:
        return st.empty_figure(f"no data: no per-{level} '{metric}' training rows", title)
    window = st.smoothing_window(h, smooth)
    h = st.rolling(h, window, ["scheme", "seed", "group"])
    schemes = st.scheme_order(h["scheme"])
    keys = sorted(h["group"].astype(str).unique(), key=st.natural_key)
    colors = st.group_colors(keys)
    fig, cols = st.facets(schemes, title_colors=st.scheme_colors(schemes))
    for i, scheme in enumerate(schemes):
        stats = st.over_seeds(h[h["scheme"] == scheme], ["group", "step"])
        for key in keys:
            s = stats[stats["group"].astype(str) == key]
            if s.empty:
                continue
            if s["count"].max() > 1:
                fig.add_trace(st.band(s["step"], s["min"], s["max"], colors[key], key, key),
                              **st.position(i, cols))
            fig.add_trace(go.Scatter(
                x=s["step"], y=s["mean"], mode="lines", name=key, legendgroup=key,
                showlegend=i == 0, line=dict(color=colors[key], width=1.6),
                hovertemplate=f"{key}<br>step %{{x}}<br>{label} %{{y:.3f}}<extra></extra>"),
                **st.position(i, cols))
    if metric == "weight":
        st.unit_line(fig)
    st.label_axes(fig, "step", label, len(schemes), cols)
    how = "; ".join(filter(None, ["mean over seeds", "band = min-max", st.smoothing_note(window)]))
    return st.apply_layout(fig, f"{title} ({how})", legend_title=level)


def _epoch_rows(weights: pd.DataFrame | None, epoch: int | None, title: str, columns=()
                ) -> tuple[pd.DataFrame, int, go.Figure | None]:
    """Rows of one epoch, numbered from 1 as in the history (default the last), with a
    finite weight, or a "no data" figure. The weights frame's ``epoch`` column is 0-based
    (``step // steps_per_epoch``), so epoch k is the rows with ``epoch == k - 1``."""
    if st.is_empty(weights, (*WEIGHT_COLUMNS, *columns)):
        return pd.DataFrame(), -1, st.empty_figure("no data: no tracked-sample weights", title)
    e = st.shown_epoch(weights["epoch"].max()) if epoch is None else int(epoch)
    w = weights[(weights["epoch"] == e - 1)
                & np.isfinite(weights["weight"].to_numpy(dtype=float))]
    if w.empty:
        return w, e, st.empty_figure(f"no data: no weights recorded in epoch {e}", title)
    return w, e, None


def weight_loss_scatter(weights: pd.DataFrame, epoch: int | None = None) -> go.Figure:
    """Weight against loss of the tracked samples in one epoch (1-based, as the history's
    ``epoch``; default: the last).

    Why: a scheme's weight function as applied in training: flat (uniform), one level per
    group (static), rising with loss (KL-DRO), batch-dependent (LinUpper). High-loss noisy
    samples (×) show whether it amplifies label noise. Facet per scheme, seeds pooled.

    Example:
        >>> import workbench as wb
        >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=2, model="linear"),
        ...                  schemes=["uniform", "kl_dro"], seeds=[0])
        >>> len(weight_loss_scatter(cmp.frame("weights"), epoch=2).data)  # 2 schemes x 2 groups
        4
    """
    title = "Weight vs loss of tracked samples"
    w, e, empty = _epoch_rows(weights, epoch, title, ("loss",))
    if empty is not None:
        return empty
    noisy = w["noisy"].astype(bool) if "noisy" in w.columns else w["weight"] != w["weight"]
    schemes = st.scheme_order(w["scheme"])
    keys = sorted(w["group"].astype(str).unique(), key=st.natural_key)
    colors = st.group_colors(keys)
    fig, cols = st.facets(schemes, title_colors=st.scheme_colors(schemes))
    for i, scheme in enumerate(schemes):
        for key in keys:
            sel = (w["scheme"] == scheme) & (w["group"].astype(str) == key)
            if not sel.any():
                continue
            part = w[sel]
            fig.add_trace(st.markers_trace(len(w))(
                x=part["loss"], y=part["weight"], mode="markers", name=key, legendgroup=key,
                showlegend=i == 0, customdata=np.stack([part["sample_id"], part["seed"]], 1),
                marker=dict(color=colors[key], size=6, opacity=0.65,
                            symbol=np.where(noisy[sel], "x", "circle")),
                hovertemplate=f"{key}<br>sample %{{customdata[0]}} (seed %{{customdata[1]}})"
                              "<br>loss %{x:.3f}<br>weight %{y:.3f}<extra></extra>"),
                **st.position(i, cols))
    st.label_axes(fig, "per-sample loss", "weight (1 = uniform)", len(schemes), cols)
    note = "; × = noisy label" if noisy.any() else ""
    return st.apply_layout(fig, f"{title} in epoch {e} (seeds pooled{note})",
                           legend_title="group")


def weight_histogram(weights: pd.DataFrame, epoch: int | None = None) -> go.Figure:
    """Distribution of tracked-sample weights in one epoch (1-based), overlaid per scheme.

    Why: a heavy right tail means a few samples dominate the gradient (low ESS), a spike at
    1 is uniform weighting, separate modes are group or class weights. Shared bins and
    probability normalisation keep schemes comparable; ``epoch=None``: the last epoch.

    Example:
        >>> import workbench as wb
        >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"),
        ...                  schemes=["uniform", "linupper"], seeds=[0])
        >>> len(weight_histogram(cmp.frame("weights")).data)
        2
    """
    title = "Distribution of per-sample weights"
    w, e, empty = _epoch_rows(weights, epoch, title)
    if empty is not None:
        return empty
    lo, hi = float(w["weight"].min()), float(w["weight"].max())
    size = (hi - lo) / 40 if hi > lo else 0.05
    schemes = st.scheme_order(w["scheme"])
    colors = st.scheme_colors(schemes)
    fig = go.Figure()
    for scheme in schemes:
        fig.add_trace(go.Histogram(
            x=w.loc[w["scheme"] == scheme, "weight"], name=scheme, histnorm="probability",
            marker_color=colors[scheme], opacity=0.55,
            xbins=dict(start=lo - size / 2, end=hi + size / 2, size=size)))
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text="weight (1 = uniform)")
    fig.update_yaxes(title_text="fraction of tracked samples")
    return st.apply_layout(fig, f"{title} in epoch {e} (tracked samples, seeds pooled)",
                           height=420)


def ess_over_steps(history: pd.DataFrame, smooth: int | bool | None = None) -> go.Figure:
    """Effective sample size of the batch weights, as a fraction of the batch, per step.

    Why: ESS = (sum w)^2 / (n sum w^2) is the share of the batch that effectively trains:
    1 for uniform weights, low when a few samples carry the weight (DRO collapse). Mean over
    seeds, min-max band. Per-step ESS is noisy: ``smooth`` is the window of a trailing
    rolling mean in steps (1: raw; ``True``: one epoch); ``None`` applies one epoch's window
    when the curve jumps by more than 0.01 per step. The title says which.

    Example:
        >>> import workbench as wb
        >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"),
        ...                  schemes=["uniform", "linupper"], seeds=[0, 1])
        >>> len(ess_over_steps(cmp.frame("history")).data)  # (band + line) per scheme
        4
    """
    title = "Effective sample size of the batch weights"
    if st.is_empty(history, st.HISTORY_COLUMNS):
        return st.empty_figure("no data: no training history", title)
    h = history[(history["split"] == "train_batch") & (history["metric"] == "ess")
                & (history["group"] == "all")]
    if h.empty:
        return st.empty_figure("no data: no ESS rows in the training history", title)
    window = st.smoothing_window(h, smooth, auto=True)
    per_seed = h.pivot_table(index="step", columns=["scheme", "seed"], values="value",
                             aggfunc="mean").sort_index()
    if window > 1:
        per_seed = per_seed.rolling(window, min_periods=1).mean()
    schemes = st.scheme_order(h["scheme"])
    colors = st.scheme_colors(schemes)
    fig = go.Figure()
    for scheme in schemes:
        cols = per_seed[scheme]
        x = cols.index.to_numpy()
        mean, lo, hi = cols.mean(axis=1), cols.min(axis=1), cols.max(axis=1)
        ok = mean.notna().to_numpy()
        if cols.shape[1] > 1:
            fig.add_trace(st.band(x[ok], lo[ok], hi[ok], colors[scheme], scheme, scheme))
        fig.add_trace(go.Scatter(
            x=x[ok], y=mean[ok], mode="lines", name=scheme, legendgroup=scheme,
            line=dict(color=colors[scheme], width=2),
            hovertemplate=f"{scheme}<br>step %{{x}}<br>ESS %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="ESS / batch size", range=[0, 1.05])
    how = "; ".join(filter(None, ["fraction of the batch", "mean over seeds", "band = min-max",
                                  st.smoothing_note(window)]))
    return st.apply_layout(fig, f"{title} ({how})", height=420)
