"""The Learn view: what each scheme's weights look like as a function of what it sees.

Why: a formula is easier to trust once it is plotted. Loss-based schemes (linupper,
quadratic, extremes, kl_dro, and any new scheme whose weights react to the batch losses)
get weight against loss for one batch of evenly spaced losses, computed by the scheme's
own ``weights()``; focal (weights from the model's confidence) gets weight against p_t;
static, group and sampling schemes get bars per class (split by a minority group) for an
example long-tailed count profile. ``batch_size=2`` shows the degenerate case of Sow et
al.'s min-max normalisation: any two losses map to h = -delta,
+delta, so the weights never change. Schemes with uniform loss weights that act elsewhere
(logit adjustment, JTT, pruning, ...) and anything that cannot be probed give a "no
weight-function plot" figure.

Example:
    >>> import workbench as wb
    >>> all(isinstance(weight_function(n), go.Figure) for n in wb.SCHEMES.names())
    True
    >>> scheme_card("linupper")["params"]
    {'delta': 1.0, 'r': 1.0, 'burn_in': 0.0}
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from ..schemes import SCHEMES, Batch, TrainInfo
from ..schemes.base import NORMALISATIONS
from .style import apply_layout, empty_figure, scheme_colors, wrap

EXAMPLE_COUNTS = (500, 200, 80, 30, 12, 5)  # long-tailed, ratio 100
MINORITY_SHARE = (0.1, 0.18, 0.26, 0.34, 0.42, 0.5)  # share of group 1 within each class
LOSS_RANGE = (0.1, 3.0)
PAIRS = ((0.1, 0.3), (0.5, 2.5), (1.0, 6.0))  # batch_size = 2: three different loss pairs
TOTAL_STEPS = 100


def _info(y: torch.Tensor, n_classes: int, g: torch.Tensor | None = None) -> TrainInfo:
    g = torch.zeros_like(y) if g is None else g
    return TrainInfo(task="classification", y=y, g=g, n_classes=n_classes,
                     n_groups=int(g.max()) + 1, total_steps=TOTAL_STEPS, steps_per_epoch=10)


def _step(scheme, losses: torch.Tensor, outputs: torch.Tensor, info: TrainInfo,
          idx: torch.Tensor | None = None) -> torch.Tensor:
    """update then weights, as the engine calls them, after any burn-in."""
    idx = torch.arange(len(losses)) if idx is None else idx
    batch = Batch(idx=idx, y=info.y[idx], g=info.g[idx], outputs=outputs, step=TOTAL_STEPS - 1,
                  n_groups=info.n_groups, n_classes=info.n_classes)
    state = scheme.init_state(info)
    state = scheme.update(losses, batch, state, info)
    return scheme.weights(losses, batch, state, info).detach().double().cpu()


def _loss_weights(scheme, losses) -> np.ndarray:
    losses = torch.as_tensor(losses, dtype=torch.float32)
    info = _info(torch.zeros(len(losses), dtype=torch.long), 2)
    return _step(scheme, losses, torch.zeros(len(losses), 2), info).numpy()


def _pt_weights(scheme, p_t: np.ndarray) -> np.ndarray:
    z = torch.as_tensor(np.log(p_t / (1 - p_t)), dtype=torch.float32)
    outputs = torch.stack([z, torch.zeros_like(z)], 1)  # label 0: p_t = sigmoid(z)
    info = _info(torch.zeros(len(z), dtype=torch.long), 2)
    return _step(scheme, -torch.log(torch.as_tensor(p_t, dtype=torch.float32)), outputs,
                 info).numpy()


def _varies(w: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(w)) and np.ptp(w) > 1e-6)


def _example_info() -> TrainInfo:
    """Long-tailed classes; in each, a minority group whose share grows with rarity."""
    y, g = [], []
    for c, (n, share) in enumerate(zip(EXAMPLE_COUNTS, MINORITY_SHARE)):
        m = max(1, round(n * share))
        y += [c] * n
        g += [0] * (n - m) + [1] * m
    return _info(torch.tensor(y), len(EXAMPLE_COUNTS), g=torch.tensor(g))


def _cells(w: torch.Tensor, info: TrainInfo) -> np.ndarray:
    """Mean of ``w`` per (group, class), (2, C)."""
    key = (info.g * info.n_classes + info.y).long()
    size = 2 * info.n_classes
    sums = torch.zeros(size, dtype=torch.float64).index_add_(0, key, w.detach().double().cpu())
    return (sums / torch.bincount(key, minlength=size).double()).reshape(2, -1).numpy()


def _static_cells(scheme) -> dict[str, np.ndarray]:
    """{label: (2, C) weights}: full-batch weights, or a sampler's equivalent loss weights."""
    info = _example_info()
    if getattr(scheme, "mode", "weight") != "sample":
        n = info.n
        return {"": _cells(_step(scheme, torch.ones(n), torch.zeros(n, info.n_classes), info),
                           info)}
    state = scheme.init_state(info)
    out = {}
    for label, step in ((", start of training", 0), (", end of training", TOTAL_STEPS - 1)):
        probs = scheme.sampling_probs(state, info, step)
        if probs is None:
            raise ValueError("the sampler gives no draw probabilities before training")
        out[label] = _cells(probs * info.n, info)
    return {"": out[", start of training"]} if np.allclose(*out.values()) else out


def scheme_kind(scheme) -> str:
    """"loss" (weights react to the batch losses), "confidence" (to p_t), "sampling",
    "static" (per class / group) or "other" (uniform weights: acts through the loss, the
    sampler or training stages, e.g. logit adjustment, JTT, pruning)."""
    probe = np.linspace(*LOSS_RANGE, 8)
    if getattr(scheme, "mode", "weight") != "sample":
        if _varies(_loss_weights(scheme, probe)):
            return "loss"
        if _varies(_pt_weights(scheme, np.linspace(0.05, 0.95, 8))):
            return "confidence"
    try:
        cells = np.concatenate([c.ravel() for c in _static_cells(scheme).values()])
    except Exception:
        return "other"
    if getattr(scheme, "mode", "weight") == "sample":
        return "sampling"
    return "static" if _varies(cells) or getattr(scheme, "name", "") == "uniform" else "other"


def _class_bars(name: str, scheme, kind: str, color: str) -> go.Figure:
    x = [f"class {c} (n={n})" for c, n in enumerate(EXAMPLE_COUNTS)]
    fig = go.Figure()
    for k, (when, cells) in enumerate(_static_cells(scheme).items()):
        for j, group in enumerate(("majority group", "minority group")):
            fig.add_trace(go.Bar(x=x, y=cells[j], name=group + when, marker_color=color,
                                 opacity=(1.0, 0.6)[j] * (1.0, 0.5)[k],
                                 marker_pattern_shape=("", "/")[j]))
    sampling = kind == "sampling"
    what = ("sampling: the loss weight equal to its draw probabilities" if sampling
            else "weight per class and group on a full batch")
    fig.add_hline(y=1.0, line=dict(color="#999999", dash="dot", width=1))
    fig.update_xaxes(title_text="class of a long-tailed training set (ratio 100);<br>minority "
                                "group share 10% to 50%")
    fig.update_yaxes(title_text="equivalent loss weight q N / n" if sampling
                     else "weight (mean 1 over the training set)")
    fig.update_layout(barmode="group")
    return apply_layout(fig, f"{name}: {what}", legend_title=None, height=440)


def _loss_curve(name: str, scheme, batch_size: int, color: str) -> go.Figure:
    fig, top = go.Figure(), 0
    if batch_size == 2:
        results = [(pair, _loss_weights(scheme, np.asarray(pair))) for pair in PAIRS]
        shades = [1.0, 0.7, 0.45]
        for (pair, w), alpha in zip(results, shades):
            fig.add_trace(go.Scatter(x=list(pair), y=w, mode="lines+markers",
                                     name=f"losses {pair[0]} and {pair[1]}", opacity=alpha,
                                     marker=dict(size=10, color=color), line=dict(color=color)))
        same = all(np.allclose(results[0][1], w, atol=1e-6) for _, w in results[1:])
        if same:
            w0 = results[0][1]
            fig.add_annotation(
                text="<br>".join(wrap(f"identical weights ({w0[0]:.3f}, {w0[1]:.3f}) for every "
                                      "pair: min-max normalisation maps any two losses to "
                                      "h = -δ, +δ", 60)),
                x=0.5, y=1.02, yanchor="bottom", xref="paper", yref="paper", showarrow=False,
                font=dict(size=12, color="#B22222"))
            top = 36  # room for the two lines above the plot
        title = f"{name}: weights in a batch of 2, for three different loss pairs"
    else:
        losses = np.linspace(*LOSS_RANGE, batch_size)
        fig.add_trace(go.Scatter(x=losses, y=_loss_weights(scheme, losses), mode="lines+markers",
                                 name=name, marker=dict(size=6, color=color),
                                 line=dict(color=color)))
        title = (f"{name}: weight vs loss in a batch of {batch_size} evenly spaced losses "
                 f"({LOSS_RANGE[0]} to {LOSS_RANGE[1]})")
    fig.add_hline(y=1.0, line=dict(color="#999999", dash="dot", width=1))
    fig.update_xaxes(title_text="per-sample loss")
    fig.update_yaxes(title_text="weight (batch mean 1)", rangemode="tozero")
    return apply_layout(fig, title, legend_title=None, height=440 + top, top=top)


def _pt_curve(name: str, scheme, batch_size: int, color: str) -> go.Figure:
    p_t = np.linspace(0.02, 0.98, max(batch_size, 2))
    fig = go.Figure(go.Scatter(x=p_t, y=_pt_weights(scheme, p_t), mode="lines+markers",
                               name=name, marker=dict(size=6, color=color),
                               line=dict(color=color)))
    fig.add_hline(y=1.0, line=dict(color="#999999", dash="dot", width=1))
    fig.update_xaxes(title_text="p_t (probability of the true class)", range=[0, 1])
    fig.update_yaxes(title_text="weight (batch mean 1)", rangemode="tozero")
    return apply_layout(fig, f"{name}: weight vs confidence in a batch of {len(p_t)} samples "
                             "(confident samples fade out)", legend_title=None, height=440)


def weight_function(scheme_name: str, params: dict | None = None,
                    batch_size: int = 32) -> go.Figure:
    """Plot what a scheme does to the loss weights, whatever kind of scheme it is.

    Why: see the module docstring. ``params`` are the scheme's hyper-parameters (invalid
    ones raise the registry's ValueError, so the app can show it); ``batch_size`` is the
    number of evenly spaced losses (or p_t values) in the example batch, and 2 shows the
    Sow et al. degenerate case: three different loss pairs, the same weights. Unknown
    names and schemes that cannot be probed give a "no weight-function plot" figure.

    Example:
        >>> fig = weight_function("linupper", {"r": 0.5}, batch_size=2)
        >>> len(fig.data)  # one line per loss pair
        3
        >>> weight_function("inverse_frequency").data[0].type
        'bar'
    """
    name = str(scheme_name)
    if name not in SCHEMES:
        return empty_figure(f"no weight-function plot for this scheme ({name!r} is not "
                            "registered)", name)
    scheme = SCHEMES.create(name, **(params or {}))
    shown = name + (f"({', '.join(f'{k}={v}' for k, v in sorted(params.items()))})"
                    if params else "")
    color = scheme_colors([name])[name]
    try:
        kind = scheme_kind(scheme)
        if kind == "loss":
            return _loss_curve(shown, scheme, max(int(batch_size), 2), color)
        if kind == "confidence":
            return _pt_curve(shown, scheme, int(batch_size), color)
        if kind in ("static", "sampling"):
            return _class_bars(shown, scheme, kind, color)
        why = ("its loss weights are uniform on example batches: it acts through the loss, "
               "the sampler or training stages (see its card)")
    except Exception as err:  # a new scheme this view does not understand yet
        why = f"{type(err).__name__}: {err}"[:160]
    return empty_figure(f"no weight-function plot for this scheme<br>({why})", shown)


def scheme_card(name: str) -> dict:
    """Name, LaTeX formula, paper, one-paragraph summary and default params of a scheme.

    Why: the app's Learn view shows this next to :func:`weight_function`; everything comes
    from the scheme class itself (``formula``, ``paper``, docstring, dataclass fields), so a
    newly registered scheme gets a card with no other file to edit. ``kind`` says which
    plot it gets ("loss", "confidence", "static", "sampling"; "other" and "unknown" get
    none, see :func:`scheme_kind`), ``tasks`` the tasks it supports, ``normalisation``
    how its weights are normalised (fixed over the training set, per batch, the group
    objective, or none) and ``normalisation_text`` that in words. Unknown names get a
    generic card.

    Example:
        >>> card = scheme_card("focal")
        >>> card["kind"], card["params"], card["normalisation"]
        ('confidence', {'gamma': 2.0, 'variant': 'true'}, 'per-batch')
        >>> scheme_card("not_a_scheme")["summary"]
        'No description available.'
    """
    generic = {"name": str(name), "formula": "", "paper": "",
               "summary": "No description available.", "params": {}, "kind": "unknown",
               "tasks": [], "normalisation": "", "normalisation_text": ""}
    if name not in SCHEMES:
        return generic
    cls = SCHEMES.get(name)
    card = dict(generic)
    card.update(formula=str(getattr(cls, "formula", "") or ""),
                paper=str(getattr(cls, "paper", "") or ""),
                summary=SCHEMES.describe(name) or generic["summary"],
                tasks=list(getattr(cls, "tasks", ())),
                normalisation=str(getattr(cls, "normalisation", "none")),
                normalisation_text=NORMALISATIONS.get(getattr(cls, "normalisation", "none"), ""))
    try:
        card["params"] = SCHEMES.params(name)
        card["kind"] = scheme_kind(SCHEMES.create(name))
    except Exception:  # defaults that do not construct, or a probe that fails
        pass
    return card


def stacked_formula(tex: str, longer_than: int = 80) -> str:
    """A long formula's ``,\\quad``-separated parts one under the other (KaTeX ``gathered``).

    Why: a display formula is never wrapped; the three-part LinUpper definition ran past a
    1024 px page. Short formulas come back unchanged.

    Example:
        >>> stacked_formula(r"a = 1,\\quad b = 2", longer_than=5)
        '\\\\begin{gathered}a = 1, \\\\\\\\ b = 2\\\\end{gathered}'
        >>> stacked_formula("w_i = 1")
        'w_i = 1'
    """
    parts = tex.split(r",\quad")
    if len(tex) <= longer_than or len(parts) < 2:
        return tex
    return r"\begin{gathered}" + r", \\ ".join(p.strip() for p in parts) + r"\end{gathered}"
