"""Dataset Cartography (Swayamdipta et al., EMNLP 2020) of the tracked samples, by scheme.

Why: end metrics say whether a scheme helped, the weight trajectories what it did to single
samples; the cartography map says *which kind* of sample it up-weights. Every tracked
training sample is placed by its training dynamics: **confidence** (mean over epochs of the
probability the model gives its training label), **variability** (the standard deviation of
that probability over epochs) and **correctness** (the fraction of epochs with that
probability above 1/2, i.e. surely predicted as its label). Easy-to-learn samples sit high
with low variability, hard-to-learn ones low with low variability (often mislabelled),
ambiguous ones to the right. Colouring the map by each sample's mean weight shows where a
scheme puts its weight: no other tool shows this.

Our choices: the probability comes from the loss recorded when the sample was in a batch
(p = exp(-cross-entropy), the training-time forward pass, as the authors log it during
training), one value per epoch (the mean when a sampler drew it several times; epochs that
never drew it are skipped). A loss that is not the plain cross-entropy (logit adjustment's
shifted logits) gives the probability under that loss. Regions: ``ambiguous`` where
variability >= ``AMBIGUOUS``; otherwise ``easy-to-learn`` for confidence >= 0.5 and
``hard-to-learn`` below; samples seen in fewer than 2 epochs have no variability and are
left out. Classification only (regression losses are not log-probabilities).

Example:
    >>> import pandas as pd
    >>> w = pd.DataFrame({"scheme": "uniform", "seed": 0, "sample_id": [1, 1, 2, 2],
    ...                   "epoch": [0, 1, 0, 1], "loss": [0.1, 0.1, 2.0, 3.0],
    ...                   "weight": [1.0, 1.0, 1.0, 1.0], "noisy": [False, False, True, True],
    ...                   "label": [0, 0, 1, 1], "group": ["a", "a", "b", "b"]})
    >>> c = cartography(w)
    >>> c["region"].tolist(), c["confidence"].round(3).tolist()
    (['easy-to-learn', 'hard-to-learn'], [0.905, 0.093])
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import apply_layout, empty_figure, markers_trace, scheme_colors, scheme_order

AMBIGUOUS = 0.2  # variability from which a sample counts as ambiguous
REGIONS = ("easy-to-learn", "ambiguous", "hard-to-learn")
COLUMNS = ("scheme", "seed", "sample_id", "label", "group", "noisy", "confidence",
           "variability", "correctness", "mean_weight", "epochs", "region")


def cartography(weights: pd.DataFrame) -> pd.DataFrame:
    """One row per (scheme, seed, tracked sample): confidence, variability, correctness,
    mean weight, number of epochs seen and region. ``weights`` is a tidy weight frame
    (``run.weights`` or ``Comparison.frame("weights")``; scheme and seed default to one)."""
    need = {"sample_id", "epoch", "loss", "weight"}
    if weights is None or weights.empty or not need <= set(weights.columns):
        return pd.DataFrame(columns=list(COLUMNS))
    w = weights.assign(p=np.exp(-weights["loss"].astype(float)))
    for col, default in (("scheme", "run"), ("seed", 0), ("label", -1), ("group", ""),
                         ("noisy", False)):
        if col not in w.columns:
            w[col] = default
    keys = ["scheme", "seed", "sample_id"]
    per_epoch = (w.groupby([*keys, "epoch"], sort=False)
                 .agg(p=("p", "mean"), weight=("weight", "mean")).reset_index())
    stats = per_epoch.groupby(keys, sort=False).agg(
        confidence=("p", "mean"), variability=("p", lambda s: float(s.std(ddof=0))),
        correctness=("p", lambda s: float((s > 0.5).mean())),
        mean_weight=("weight", "mean"), epochs=("p", "size")).reset_index()
    first = w.drop_duplicates(keys)[[*keys, "label", "group", "noisy"]]
    out = stats.merge(first, on=keys, how="left")
    out = out[out["epochs"] >= 2].copy()
    out["region"] = np.where(out["variability"] >= AMBIGUOUS, "ambiguous",
                             np.where(out["confidence"] >= 0.5, "easy-to-learn",
                                      "hard-to-learn"))
    return out[list(COLUMNS)].reset_index(drop=True)


def region_table(carto: pd.DataFrame, by: str = "noisy") -> pd.DataFrame:
    """Share of each region per scheme and value of ``by`` (e.g. flipped vs clean labels),
    with the count n and the mean weight there.

    Example:
        >>> c = pd.DataFrame({"scheme": "u", "noisy": [True, False, False],
        ...                   "region": ["hard-to-learn", "easy-to-learn", "easy-to-learn"],
        ...                   "mean_weight": [2.0, 1.0, 1.0]})
        >>> region_table(c)["hard-to-learn"].tolist()
        [0.0, 1.0]
    """
    if carto.empty:
        return pd.DataFrame()
    share = (pd.crosstab([carto["scheme"], carto[by]], carto["region"], normalize="index")
             .reindex(columns=list(REGIONS), fill_value=0.0))
    extra = carto.groupby(["scheme", by]).agg(n=("region", "size"),
                                              mean_weight=("mean_weight", "mean"))
    return share.join(extra).reset_index()


def cartography_map(carto: pd.DataFrame, color: str = "mean_weight") -> go.Figure:
    """Variability (x) against confidence (y), one panel per scheme, a dot per tracked
    sample coloured by its mean weight (or ``color``), flipped labels drawn as crosses;
    the three regions are marked. Seeds are pooled (each dot is one sample in one seed)."""
    title = ("Dataset cartography of the tracked samples (training split; colour: mean "
             "weight; variability: std of p over epochs; confidence: mean p)")
    if carto is None or carto.empty:
        return empty_figure("no data: no tracked sample was seen in two or more epochs "
                            "(classification runs with track > 0 and epochs >= 2)", title)
    schemes = scheme_order(carto["scheme"])
    cols = min(2, len(schemes))  # two per row: labels and ticks stay apart at 1024 px
    rows = int(np.ceil(len(schemes) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=schemes, shared_yaxes=True,
                        horizontal_spacing=0.06, vertical_spacing=0.2 if rows > 1 else 0.12)
    cmax = float(np.nanquantile(carto[color], 0.98)) if color == "mean_weight" else None
    for i, scheme in enumerate(schemes):
        d = carto[carto["scheme"] == scheme]
        r, c = i // cols + 1, i % cols + 1
        fig.add_trace(markers_trace(len(carto))(
            x=d["variability"], y=d["confidence"], mode="markers", name=scheme,
            marker=dict(color=d[color], coloraxis="coloraxis", size=7, opacity=0.85,
                        symbol=np.where(d["noisy"].astype(bool), "x", "circle")),
            customdata=np.stack([d["sample_id"], d["label"], d["group"].astype(str),
                                 d["noisy"].astype(str), d["mean_weight"]], axis=1),
            hovertemplate=("sample %{customdata[0]} (label %{customdata[1]}, group "
                           "%{customdata[2]}, flipped %{customdata[3]})<br>confidence %{y:.2f}"
                           ", variability %{x:.2f}<br>mean weight %{customdata[4]:.2f}"
                           "<extra></extra>"), showlegend=False), row=r, col=c)
        fig.add_vline(x=AMBIGUOUS, line=dict(dash="dot", color="grey"), row=r, col=c)
        fig.add_hline(y=0.5, line=dict(dash="dot", color="grey"), row=r, col=c)
    for i in range(len(schemes)):  # the region names in every panel, clear of the dots
        axis = "" if i == 0 else str(i + 1)
        for label, x, y in (("easy-to-learn", 0.02, 1.0), ("hard-to-learn", 0.02, 0.0),
                            ("ambiguous", 0.98, 0.0)):
            fig.add_annotation(text=label, xref=f"x{axis} domain", yref=f"y{axis} domain",
                               x=x, y=y, showarrow=False, font=dict(color="grey", size=11),
                               xanchor="left" if x < 0.5 else "right",
                               yanchor="top" if y > 0.5 else "bottom")
    fig.update_xaxes(title_text="variability", rangemode="tozero")
    fig.update_yaxes(title_text="confidence", range=[0, 1.02], col=1)
    fig.update_layout(coloraxis=dict(colorscale="Viridis", cmin=0, cmax=cmax,
                                     colorbar=dict(title=color.replace("_", " "))),
                      height=340 * rows + 60)
    return apply_layout(fig, title)


def sample_trajectory(weights: pd.DataFrame, sample_id: int) -> go.Figure:
    """Loss and weight of one tracked sample over training, a line per scheme (and seed)."""
    title = f"Sample {sample_id}: loss and weight over training"
    d = weights[weights["sample_id"] == sample_id] if weights is not None else None
    if d is None or d.empty:
        return empty_figure(f"no data: sample {sample_id} is not a tracked sample", title)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "weight"))
    colors = scheme_colors(d["scheme"])
    dashes = ("solid", "dot", "dash", "dashdot", "longdash")
    seeds = sorted(d["seed"].unique().tolist())
    for (scheme, seed), g in d.groupby(["scheme", "seed"], sort=False):
        g = g.sort_values("step")
        line = dict(color=colors[str(scheme)], dash=dashes[seeds.index(seed) % len(dashes)])
        for col, name in ((1, "loss"), (2, "weight")):
            fig.add_trace(go.Scatter(x=g["step"], y=g[name], mode="lines+markers", line=line,
                                     marker=dict(color=colors[str(scheme)], size=5),
                                     name=f"{scheme} (seed {seed})", legendgroup=str(scheme),
                                     showlegend=col == 1), row=1, col=col)
    fig.update_xaxes(title_text="step")
    return apply_layout(fig, title)
