"""Readable at a glance: the palette, titles that fit, human axis labels, smoothing, one ECE.

Why: the figures are read on a projector and by colour-blind readers; "pale pink jtt next
to pale pink focal", a title cut at 1024 px, ``imbalance.0.ratio`` on an axis or two
different ECEs for one scheme on one page all passed the older tests. The palette is
checked with an independent colour-science package (colorspacious: CAM02-UCS, and the
Machado et al. 2009 colour-vision-deficiency simulation), not with our own formulas.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from colorspacious import cspace_convert

import workbench as wb
from workbench import SCHEMES, TRANSFORMS
from workbench import figures as F
from workbench.figures import style
from workbench.figures.sweep import setting_label, sweep_lines
from workbench.metrics.posthoc import calibration_table

VISION = {"normal": None, **{t: {"name": "sRGB1+CVD", "cvd_type": t, "severity": 100}
                             for t in ("deuteranomaly", "protanomaly", "tritanomaly")}}
SCHEME_NAMES = ["uniform", "inverse_frequency", "linupper"]


def _rgb(hexes) -> np.ndarray:
    return np.array([[int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)] for h in hexes])


def min_distance(hexes, vision) -> float:
    """Smallest pairwise CAM02-UCS distance (ΔE') of the colours as ``vision`` sees them."""
    rgb = _rgb(hexes)
    if VISION[vision] is not None:
        rgb = np.clip(cspace_convert(rgb, VISION[vision], "sRGB1"), 0, 1)
    ucs = cspace_convert(rgb, "sRGB1", "CAM02-UCS")
    return min(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(ucs, 2))


# ---------------------------------------------------------------- palette


@pytest.mark.parametrize("vision", list(VISION))
def test_twelve_schemes_stay_distinct_for_colour_blind_readers(vision):
    """The 12 most used schemes (slots 0-11) are >= 12 apart in every vision; the old
    Tableau-20 order was 1.6 apart for protanopes (green vs orange) and 4.3 for
    deuteranopes."""
    top12 = sorted(style.KNOWN_SCHEMES, key=style.KNOWN_SCHEMES.get)[:12]
    colors = style.scheme_colors(top12)
    assert len(set(colors.values())) == 12
    assert min_distance(list(colors.values()), vision) >= 12.0


@pytest.mark.parametrize("vision", list(VISION))
def test_every_registered_scheme_has_its_own_colour(vision):
    colors = style.scheme_colors(SCHEMES.names())
    assert len(set(colors.values())) == len(SCHEMES.names())  # one colour per scheme
    assert min_distance(list(colors.values()), vision) >= 7.5
    assert set(SCHEMES.names()) <= set(style.KNOWN_SCHEMES)  # fixed slots, none hashed


def test_no_scheme_colour_is_pale_on_white():
    """jtt and focal were pale pink (#FF9896 / #F7B6D2 region): every scheme colour now has
    CAM02-UCS lightness J' <= 75 (Okabe-Ito's orange is the lightest, 74.5) and stays far
    from the white background."""
    ucs = cspace_convert(_rgb(style.PALETTE), "sRGB1", "CAM02-UCS")
    white = cspace_convert(np.ones(3), "sRGB1", "CAM02-UCS")
    assert ucs[:, 0].max() <= 75
    assert np.linalg.norm(ucs - white, axis=1).min() >= 30


# ---------------------------------------------------------------- every figure


@pytest.fixture(scope="module")
def cmp():
    cfg = wb.RunConfig(dataset="blobs2d", epochs=3, model="linear")
    return wb.compare(cfg, schemes=SCHEME_NAMES, seeds=[0, 1])


def _builders(cmp) -> dict[str, go.Figure]:
    h, w, p = (cmp.frame(n) for n in ("history", "weights", "predictions"))
    return {
        "metric_dots": F.metric_dots(cmp.table),
        "weight_trajectories": F.weight_trajectories(w),
        "group_weight_over_steps": F.group_weight_over_steps(h, smooth=3),
        "weight_loss_scatter": F.weight_loss_scatter(w),
        "weight_histogram": F.weight_histogram(w),
        "ess_over_steps": F.ess_over_steps(h),
        "group_curves": F.group_curves(h),
        "group_curves_steps": F.group_curves(h, split="train_batch", metric="loss", smooth=2),
        "reliability_diagram": F.reliability_diagram(p, temperature=True),
        "confidence_histogram": F.confidence_histogram(p),
        "cartography_map": F.cartography_map(F.cartography(w)),
        "weight_function": F.weight_function("linupper", batch_size=2),
        "count_bars": F.count_bars(cmp.runs[0].info),
    }


def test_titles_fit_and_every_trace_has_an_explicit_colour(cmp):
    """Headlines within ``HEADLINE`` characters and subtitle lines within ``DETAIL`` (so
    nothing is cut at 1024 px); no trace left to Plotly's default colourway (the What-if
    bands used to draw their corners as dots in default colours)."""
    for name, fig in _builders(cmp).items():
        assert not F.is_empty_figure(fig), name
        title = fig.layout.title
        assert 0 < len(title.text) <= style.HEADLINE, (name, title.text)
        for line in (title.subtitle.text or "").split("<br>"):
            assert len(line) <= style.DETAIL, (name, line)
        for tr in fig.data:
            if tr.type in ("heatmap", "contour") or getattr(tr.marker, "coloraxis", None):
                continue
            colors = [getattr(tr.marker, "color", None),
                      getattr(getattr(tr, "line", None), "color", None),
                      getattr(tr, "fillcolor", None)]
            assert any(c is not None for c in colors), (name, tr.name)
            if tr.type == "scatter" and tr.fill == "toself":
                assert tr.mode == "lines", (name, tr.name)  # no corner dots


def test_a_scheme_keeps_its_colour_in_every_figure(cmp):
    figs = _builders(cmp)
    expected = style.scheme_colors(SCHEME_NAMES)
    seen = {}
    for name in ("metric_dots", "ess_over_steps", "weight_histogram", "confidence_histogram"):
        for tr in figs[name].data:
            color = tr.marker.color if tr.type in ("bar", "histogram") or tr.mode == "markers" \
                else tr.line.color
            if tr.name in expected:
                seen.setdefault(tr.name, set()).add(color)
    assert seen == {s: {expected[s]} for s in SCHEME_NAMES}


# ---------------------------------------------------------------- epochs, smoothing, ECE


def test_epochs_are_numbered_from_one_in_weights_and_groups(cmp):
    """Weights' epoch (0-based column) and the history's (1-based) read the same."""
    h, w = cmp.frame("history"), cmp.frame("weights")
    assert int(w["epoch"].max()) == 2 and int(h.loc[h.split == "test", "epoch"].max()) == 3
    assert "epoch 3" in style.full_title(F.weight_loss_scatter(w))
    assert "epoch 3" in style.full_title(F.weight_histogram(w))
    assert max(F.group_curves(h).data[0].x) == 3
    first = F.weight_histogram(w, epoch=1)
    assert sum(len(t.x) for t in first.data) == int((w["epoch"] == 0).sum())
    assert F.is_empty_figure(F.weight_histogram(w, epoch=0))


def test_smoothing_is_a_trailing_rolling_mean_per_seed(cmp):
    h = cmp.frame("history")
    rows = h[(h.split == "train_batch") & (h.metric == "weight") & (h.level == "group")]
    raw = F.group_weight_over_steps(h, smooth=1)
    smooth = F.group_weight_over_steps(h, smooth=4)
    assert "rolling" not in style.full_title(raw)
    assert "rolling mean over 4 steps" in style.full_title(smooth)
    part = rows[(rows.scheme == "linupper")]
    key = str(sorted(part["group"].astype(str).unique())[0])
    part = part[part["group"].astype(str) == key]
    per_seed = part.pivot_table(index="step", columns="seed", values="value")
    expected = per_seed.rolling(4, min_periods=1).mean().mean(axis=1)
    line = next(t for t in smooth.data if t.name == key and t.xaxis == "x3" and t.mode == "lines"
                and t.fill != "toself")
    np.testing.assert_allclose(line.y, expected.to_numpy(), rtol=1e-9)
    assert [a.text for a in smooth.layout.annotations][:3] == SCHEME_NAMES  # order kept
    ess = F.ess_over_steps(h, smooth=3)
    assert "rolling mean over 3 steps" in style.full_title(ess)
    with pytest.raises(ValueError, match="smooth"):
        F.group_weight_over_steps(h, smooth=-2)


def test_one_ece_per_page_labelled_mean_over_seeds(cmp):
    p = cmp.frame("predictions")
    fig = F.reliability_diagram(p)
    table = calibration_table(p).set_index("scheme")
    overview = cmp.table.set_index(["metric", "scheme"]).loc["ece", "mean"]
    titles = [a.text for a in fig.layout.annotations][:3]
    for scheme, text in zip(SCHEME_NAMES, titles):
        assert f"ECE {table.loc[scheme, 'ece']:.3f}" in text
        assert f"ECE {overview[scheme]:.3f}" in text  # the Overview's number
    assert "ECE: mean over seeds" in style.full_title(fig)


# ---------------------------------------------------------------- What-if axis


@pytest.mark.parametrize("kind", TRANSFORMS.names())
def test_axis_labels_come_from_the_declared_parameters(kind):
    """Every numeric parameter of every transform gets a label in words, from the
    registry's declaration (the class name and the help), never the dotted path."""
    specs = [s for s in TRANSFORMS.spec(kind) if s.kind in ("int", "float")]
    cfg = wb.RunConfig(imbalance=[{"kind": kind}])
    for spec in specs:
        label = setting_label(f"imbalance.0.{spec.name}", cfg)
        assert "imbalance" not in label and "." not in label.split(" (")[0], label
        assert spec.name.replace("_", " ") in label
        gist = spec.help.split(".")[0].split(",")[0].split(" (")[0].lower()
        assert gist[:12] in label.lower(), (label, spec.help)


def test_long_tail_axis_reads_in_words_with_ticks_at_the_values():
    table = pd.DataFrame({"imbalance.0.ratio": [1, 10, 50, 100], "scheme": "uniform",
                          "metric": "accuracy", "mean": [0.9, 0.85, 0.8, 0.7], "std": 0.01,
                          "ci_low": [0.88, 0.83, 0.78, 0.68], "ci_high": [0.92, 0.87, 0.82, 0.72],
                          "n": 2})
    runs = pd.DataFrame({"imbalance.0.ratio": [1, 1, 10, 10, 50, 50, 100, 100],
                         "scheme": "uniform", "seed": [0, 1] * 4,
                         "accuracy": [0.89, 0.91, 0.84, 0.86, 0.79, 0.81, 0.69, 0.71]})
    cfg = wb.RunConfig(imbalance=[{"kind": "longtail", "ratio": 50}])
    fig = sweep_lines(table, metric="accuracy", points=runs, config=cfg)
    axis = fig.layout.xaxis
    assert axis.title.text == "long tail ratio (largest / smallest class size)"
    assert axis.type == "log" and list(axis.ticktext) == ["1", "10", "50", "100"]
    assert list(axis.tickvals) == [1, 10, 50, 100]
    assert all(t.mode == "lines" for t in fig.data if t.fill == "toself")  # no corner dots
    dots = [t for t in fig.data if t.mode == "markers"]
    assert len(dots) == 1 and len(dots[0].y) == 8
    assert dots[0].marker.color == style.scheme_colors(["uniform"])["uniform"]
    assert dots[0].showlegend and "one dot per seed" in dots[0].name
