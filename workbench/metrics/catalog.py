"""The metric table: every metric key the workbench reports, its direction, range and format.

Why: "which scheme is best" needs the direction of each metric, and an interval over seeds
needs the metric's range (an accuracy interval past 1, or an ECE interval below 0, is not a
statement about the metric). A hand-kept set of "lower is better" names in each view drifts:
perplexity was missing from one, so the Overview called the *higher* perplexity best. Here
every key is listed once; the Overview's highlight, the figures' arrows, the what-if and
sweep plots, the groups view and the CLI read it, and ``lookup`` raises for a key it does
not know, so a new metric cannot be shown without a direction (``tests/test_catalog.py``
trains every task and checks each key it produces).

``higher_is_better`` is True, False, or None for a diagnostic that has no better direction
(the weight ESS, a batch share, Group DRO's q, the temperature T): such a metric is never
ranked. ``low``/``high`` are the metric's range (``inf`` for unbounded); ``compare``'s
intervals are clipped to it. Families are written with a placeholder: ``perplexity:<domain>``
(a language model's test perplexity on one domain) and ``<m>_ts`` (calibration metric ``m``
after post-hoc temperature scaling, Guo et al., ICML 2017).

Example:
    >>> lookup("perplexity").higher_is_better, lookup("perplexity").range_text
    (False, '[1, inf)')
    >>> lookup("perplexity:english").label
    'test perplexity (english)'
    >>> lookup("ece_ts").range_text, arrow("balanced_accuracy"), arrow("ess")
    ('[0, 1]', '↑', '')
    >>> clip_interval("group_gap", -0.02, 0.08)
    (0.0, 0.08, True)
    >>> lookup("accurcy")
    Traceback (most recent call last):
    ...
    ValueError: unknown metric 'accurcy'; known metrics: ...
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

__all__ = ["Metric", "METRICS", "FAMILIES", "arrow", "clip_interval", "direction_text",
           "format_value", "higher_is_better", "is_known", "lookup", "table"]

INF = math.inf


@dataclass(frozen=True)
class Metric:
    """One metric key (or a family's pattern): how to read, rank, bound and print it."""

    name: str
    label: str
    higher_is_better: bool | None
    low: float = -INF
    high: float = INF
    fmt: str = ".4f"
    where: str = "summary"  # summary, history, posthoc, api: where the workbench reports it

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.low) or math.isfinite(self.high)

    @property
    def range_text(self) -> str:
        def end(v):
            return "inf" if v == INF else "-inf" if v == -INF else f"{v:g}"

        return (f"{'[' if math.isfinite(self.low) else '('}{end(self.low)}, "
                f"{end(self.high)}{']' if math.isfinite(self.high) else ')'}")


def _m(name, label, higher, low=-INF, high=INF, fmt=".4f", where="summary") -> Metric:
    return Metric(name, label, higher, float(low), float(high), fmt, where)


_ENTRIES = [
    # classification summary (metrics.frames.classification_summary); history: accuracy, loss
    _m("accuracy", "test accuracy (plain mean over samples)", True, 0, 1),
    _m("balanced_accuracy", "balanced accuracy (mean per-class recall)", True, 0, 1),
    _m("macro_f1", "macro F1", True, 0, 1),
    _m("worst_group_accuracy", "worst-group accuracy", True, 0, 1),
    _m("worst_class_accuracy", "worst-class accuracy", True, 0, 1),
    _m("group_gap", "best minus worst group accuracy", False, 0, 1),
    _m("ece", "expected calibration error (top-label)", False, 0, 1),
    _m("mce", "maximum calibration error", False, 0, 1),
    _m("brier", "Brier score (sum over classes)", False, 0, 2),
    _m("nll", "negative log-likelihood", False, 0),
    # fairness (metrics.classification; binary tasks)
    _m("demographic_parity_difference", "demographic parity difference", False, 0, 1,
       where="api"),
    _m("equalized_odds_difference", "equalized odds difference", False, 0, 1, where="api"),
    # regression summary and history
    _m("mse", "mean squared error", False, 0),
    _m("worst_group_mse", "worst-group mean squared error", False, 0),
    # language modelling summary and history (perplexity = exp of the mean token loss)
    _m("perplexity", "test perplexity", False, 1, fmt=".3f"),
    _m("worst_group_perplexity", "worst-domain test perplexity", False, 1, fmt=".3f"),
    _m("loss", "mean unweighted loss (cross-entropy or squared error)", False, 0),
    # post-hoc temperature scaling (metrics.posthoc.calibration_table)
    _m("temperature", "fitted temperature T (T > 1: the model was over-confident)", None,
       0, fmt=".3f", where="posthoc"),
    # training history, per step (recording.Recorder)
    _m("share", "share of the batch", None, 0, 1, where="history"),
    _m("weight", "mean loss weight", None, 0, where="history"),
    _m("ess", "Kish effective sample size, fraction of the batch", None, 0, 1,
       where="history"),
    _m("max_min_ratio", "largest over smallest weight in the batch", None, 1,
       where="history"),
    _m("entropy", "entropy of the normalised batch weights (nats)", None, 0, where="history"),
    _m("objective", "the scheme's training objective on the batch", None, where="history"),
    # scheme state recorded per step (Scheme.recorded_state)
    _m("q", "Group DRO's group weights q", None, 0, 1, where="history"),
    _m("alpha", "DoReMi's domain weights alpha", None, 0, 1, where="history"),
    _m("bound", "fair_error_bound's per-group error bound (EMA of a loss quantile)", None,
       0, where="history"),
]
METRICS: dict[str, Metric] = {m.name: m for m in _ENTRIES}
POSTHOC_BASES = ("ece", "mce", "brier", "nll")
FAMILIES = {
    "perplexity:<domain>": re.compile(r"perplexity:(?P<part>.+)"),
    "<m>_ts": re.compile(rf"(?P<part>{'|'.join(POSTHOC_BASES)})_ts"),
}


def _family(key: str) -> Metric | None:
    hit = FAMILIES["perplexity:<domain>"].fullmatch(key)
    if hit:
        base = METRICS["perplexity"]
        return Metric(key, f"test perplexity ({hit['part']})", False, base.low, base.high,
                      base.fmt)
    hit = FAMILIES["<m>_ts"].fullmatch(key)
    if hit:
        base = METRICS[hit["part"]]
        return Metric(key, f"{base.label}, after temperature scaling", base.higher_is_better,
                      base.low, base.high, base.fmt, "posthoc")
    return None


def is_known(key: str) -> bool:
    """Whether ``key`` is in the table (by name or family)."""
    return str(key) in METRICS or _family(str(key)) is not None


def lookup(key: str) -> Metric:
    """The table's entry for ``key``; a ValueError naming the known keys otherwise."""
    key = str(key)
    entry = METRICS.get(key) or _family(key)
    if entry is None:
        raise ValueError(f"unknown metric {key!r}; known metrics: {', '.join(METRICS)}; "
                         f"families: {', '.join(FAMILIES)} (workbench.metrics.catalog)")
    return entry


def higher_is_better(key: str) -> bool | None:
    """True, False, or None for a diagnostic that is never ranked."""
    return lookup(key).higher_is_better


def arrow(key: str) -> str:
    """"↑" (higher is better), "↓" (lower is better) or "" (no direction)."""
    return {True: "↑", False: "↓", None: ""}[lookup(key).higher_is_better]


def direction_text(key: str) -> str:
    """"↑ higher is better", "↓ lower is better" or "no better direction"."""
    return {True: "↑ higher is better", False: "↓ lower is better",
            None: "no better direction"}[lookup(key).higher_is_better]


def format_value(key: str, value: float) -> str:
    """``value`` in the metric's format ("nan" for a missing value)."""
    value = float(value)
    return f"{value:{lookup(key).fmt}}" if math.isfinite(value) else str(value)


def clip_interval(key: str, lo: float, hi: float) -> tuple[float, float, bool]:
    """(lo, hi) cut to the metric's range, and whether anything was cut (NaN stays NaN)."""
    m = lookup(key)
    cut_lo, cut_hi = bool(lo < m.low), bool(hi > m.high)  # False for NaN
    return (m.low if cut_lo else lo), (m.high if cut_hi else hi), cut_lo or cut_hi


def table() -> pd.DataFrame:
    """The whole table (families included) as a DataFrame, one row per key or family.

    Example:
        >>> t = table().set_index("name")
        >>> t.loc["perplexity:<domain>", ["direction", "range"]].tolist()
        ['lower', '[1, inf)']
    """
    entries = [*METRICS.values(), _family("perplexity:<domain>"),
               *(_family(f"{b}_ts") for b in POSTHOC_BASES)]
    rows = [{"name": m.name, "label": m.label,
             "direction": {True: "higher", False: "lower", None: "none"}[m.higher_is_better],
             "range": m.range_text, "format": m.fmt, "where": m.where} for m in entries]
    return pd.DataFrame(rows)
