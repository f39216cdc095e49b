"""Calibration metrics and post-hoc temperature scaling.

Why: reweighting often changes *confidence* more than ranking. ECE/MCE (Naeini et al. 2015;
Guo et al., "On Calibration of Modern Neural Networks", ICML 2017), adaptive and classwise
ECE (Nixon et al., "Measuring Calibration in Deep Learning", 2019), Brier score and NLL say
how; temperature scaling (Guo et al. 2017) separates "hurt calibration" from "hurt ranking".

Conventions, decided once:
* ``probs`` of shape (N, C) -> top-label ECE (confidence = max prob, hit = argmax == label);
  shape (N,) or (N, 1) -> binary *positive-class* ECE (confidence = p, "accuracy" = label),
  as torchmetrics' ``binary_calibration_error``. Brier / NLL / classwise treat (N,) as the
  two-class matrix [1 - p, p], so binary Brier is 2x sklearn's ``brier_score_loss``.
* Uniform bins are (lo, hi]; confidence 0 goes to the first bin and exactly 1.0 to the LAST
  bin (torchmetrics' [lo, hi) puts 1.0 in a hidden extra bin: its issue 3510). Away from
  bin edges the two agree. Quantile ("adaptive", equal-mass) bins have edges at the
  k/n_bins quantiles of the confidences (numpy's linear interpolation) and are [lo, hi), the
  last one closed, as netcal's ``ECE(equal_intervals=False)``: equal mass up to ties, which
  always share a bin, so the value never depends on row order; empty bins carry no weight.
* norm "l1" = sum_b (n_b/N)|acc_b - conf_b|, "l2" = sqrt(sum_b (n_b/N) gap_b^2) (= torchmetrics'
  RMSCE, without debiasing), "max" = MCE = max over non-empty bins.

Example:
    >>> p = [0.25, 0.25, 0.55, 0.75, 0.75]
    >>> round(expected_calibration_error(p, [0, 0, 1, 1, 1], n_bins=2), 4)
    0.29
"""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp, softmax

from .classification import to_labels, to_numpy

__all__ = [
    "apply_temperature",
    "brier_score",
    "classwise_ece",
    "expected_calibration_error",
    "fit_temperature",
    "maximum_calibration_error",
    "nll",
    "reliability_bins",
]

NORMS = ("l1", "l2", "max")
BINNINGS = ("uniform", "quantile")


def _check_options(n_bins, norm="l1", binning="uniform") -> int:
    if isinstance(n_bins, bool):
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    try:
        n_bins = operator.index(n_bins)
    except TypeError:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}") from None
    if n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if binning not in BINNINGS:
        raise ValueError(f"binning must be one of {BINNINGS}, got {binning!r}")
    return n_bins


def _prepare(probs, labels) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validate and return (P (N, C) probability matrix, labels (N,), is_binary).

    Values above 1 by at most 1e-6 (float32 softmax round-off) are clipped, not rejected.
    Rows are not required to sum to 1.
    """
    p = to_numpy(probs)
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if p.ndim not in (1, 2):
        raise ValueError(f"probs must have shape (N,) or (N, C), got {p.shape}")
    if p.shape[0] == 0:
        raise ValueError("probs is empty: metrics need at least one sample")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1 + 1e-6:
        raise ValueError("probs must be finite probabilities in [0, 1] (apply softmax to logits)")
    y = to_labels(labels)
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"probs has {p.shape[0]} rows but labels has {y.shape[0]}")
    binary = p.ndim == 1
    p = np.clip(p, 0.0, 1.0)
    if binary:
        p = np.stack([1.0 - p, p], axis=1)
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"labels must lie in [0, {p.shape[1] - 1}] for probs with "
                         f"{p.shape[1]} classes, got range [{y.min()}, {y.max()}]")
    return p, y, binary


def _conf_hit(p: np.ndarray, y: np.ndarray, binary: bool) -> tuple[np.ndarray, np.ndarray]:
    if binary:
        return p[:, 1], y.astype(np.float64)
    return p.max(axis=1), (p.argmax(axis=1) == y).astype(np.float64)


def _bin_index(conf: np.ndarray, n_bins: int, binning: str) -> np.ndarray:
    if binning == "uniform":  # (lo, hi]; 0 -> first bin, 1.0 -> last bin
        edges = np.arange(n_bins + 1) / n_bins  # k/n correctly rounded: 0.3 is in (0.2, 0.3]
        return np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    # equal-mass: edges at the k/n_bins quantiles (linear interpolation, as netcal), bins
    # [lo, hi), last bin closed. Binning by value, not by rank, so tied confidences always
    # share a bin and the result does not depend on row order.
    edges = np.quantile(conf, np.linspace(0.0, 1.0, n_bins + 1))
    return np.searchsorted(edges[1:-1], conf, side="right")


def _bin_arrays(conf, hit, n_bins, binning) -> dict[str, np.ndarray]:
    """The columns of ``_bins`` as arrays (ECE and MCE reduce them without a frame)."""
    idx = _bin_index(conf, n_bins, binning)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        mean_acc = np.bincount(idx, weights=hit, minlength=n_bins) / count
    if binning == "uniform":
        edges = np.arange(n_bins + 1) / n_bins
        lo, hi = edges[:-1], edges[1:]
    else:  # data-dependent bins: report the confidence range actually in each bin
        lo, hi = np.full(n_bins, np.nan), np.full(n_bins, np.nan)
        np.fmin.at(lo, idx, conf)
        np.fmax.at(hi, idx, conf)
    return {"bin": np.arange(n_bins), "lo": lo, "hi": hi, "count": count,
            "confidence": mean_conf, "accuracy": mean_acc, "gap": mean_conf - mean_acc}


def _bins(conf, hit, n_bins, binning) -> pd.DataFrame:
    return pd.DataFrame(_bin_arrays(conf, hit, n_bins, binning))


def _reduce(bins: dict[str, np.ndarray], norm: str) -> float:
    full = bins["count"] > 0
    count = bins["count"][full]
    w = count / count.sum()
    gap = np.abs(bins["gap"][full])
    if norm == "l1":
        return float(np.sum(w * gap))
    if norm == "l2":
        return float(np.sqrt(np.sum(w * gap**2)))
    return float(gap.max())


def reliability_bins(probs, labels, n_bins: int = 15, binning: str = "uniform") -> pd.DataFrame:
    """Per-bin table for reliability diagrams: bin, lo, hi, count, confidence, accuracy, gap.

    ``gap = confidence - accuracy`` (> 0: over-confident). Empty bins have count 0 and NaN
    statistics. ECE = sum(count / N * |gap|) over non-empty bins.

    Example:
        >>> reliability_bins([0.2, 1.0], [0, 1], n_bins=2)["count"].tolist()
        [1, 1]
    """
    n_bins = _check_options(n_bins, binning=binning)
    conf, hit = _conf_hit(*_prepare(probs, labels))
    return _bins(conf, hit, n_bins, binning)


def expected_calibration_error(probs, labels, n_bins: int = 15, norm: str = "l1",
                               binning: str = "uniform") -> float:
    """Binned calibration error (Naeini et al. 2015; Guo et al. 2017; Nixon et al. 2019).

    Top-label for (N, C) probs, positive-class for (N,) probs; see the module docstring.
    ``binning="quantile"`` gives adaptive (equal-mass) ECE.

    Example:
        >>> expected_calibration_error([[0.9, 0.1], [0.2, 0.8]], [0, 0], n_bins=10)
        0.45
    """
    n_bins = _check_options(n_bins, norm, binning)
    conf, hit = _conf_hit(*_prepare(probs, labels))
    return _reduce(_bin_arrays(conf, hit, n_bins, binning), norm)


def maximum_calibration_error(probs, labels, n_bins: int = 15, binning: str = "uniform") -> float:
    """MCE: the largest |accuracy - confidence| over non-empty bins (Naeini et al. 2015)."""
    return expected_calibration_error(probs, labels, n_bins, norm="max", binning=binning)


def classwise_ece(probs, labels, n_bins: int = 15, norm: str = "l1",
                  binning: str = "uniform") -> float:
    """Mean over all C classes of the one-vs-rest ECE of p_c against 1[y == c].

    Nixon et al. 2019's static/adaptive calibration error (SCE/ACE, by ``binning``); it
    sees mis-calibration of non-top classes that top-label ECE ignores.
    """
    n_bins = _check_options(n_bins, norm, binning)
    p, y, _ = _prepare(probs, labels)
    return float(np.mean([_reduce(_bin_arrays(p[:, c], (y == c).astype(np.float64), n_bins,
                                              binning), norm) for c in range(p.shape[1])]))


def brier_score(probs, labels) -> float:
    """Mean over samples of sum_c (p_c - onehot_c)^2 (Brier 1950); in [0, 2].

    Example:
        >>> brier_score([[1.0, 0.0], [0.5, 0.5]], [0, 1])
        0.25
    """
    p, y, _ = _prepare(probs, labels)
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def nll(probs, labels, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood -log p_y, with p_y clipped at ``eps`` (= 1e-12).

    Example:
        >>> round(nll([[0.5, 0.5]], [1]), 4)
        0.6931
    """
    p, y, _ = _prepare(probs, labels)
    return float(np.mean(-np.log(np.clip(p[np.arange(y.shape[0]), y], eps, None))))


def _logits(logits) -> np.ndarray:
    z = to_numpy(logits)
    if z.ndim == 2 and z.shape[1] == 1:
        z = z[:, 0]
    if z.ndim == 1:  # one binary logit = two-class logits [0, z]
        z = np.stack([np.zeros_like(z), z], axis=1)
    if z.ndim != 2 or z.shape[0] == 0:
        raise ValueError(f"logits must have shape (N,) or (N, C) with N >= 1, got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite")
    return z


def apply_temperature(logits, temperature: float):
    """softmax(logits / T) as numpy; (N,) binary logits give sigmoid(z / T) of shape (N,)."""
    t = float(temperature)
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    binary = to_numpy(logits).ndim == 1
    p = softmax(_logits(logits) / t, axis=1)
    return p[:, 1] if binary else p


def fit_temperature(logits, labels, bounds: tuple[float, float] = (0.01, 100.0)) -> float:
    """The scalar T > 0 minimising validation NLL of softmax(logits / T) (Guo et al. 2017).

    The NLL is convex in 1/T, hence unimodal in log T: a coarse grid over log T inside
    ``bounds`` locates the basin and bounded Brent refines it. If the optimum lies beyond
    the bounds (e.g. perfectly separated data wants T -> 0) the nearest bound is returned.
    Temperature scaling never changes the argmax, so accuracy is unaffected.

    Example:
        >>> round(fit_temperature([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]], [0, 1, 1]), 2) > 1
        True
    """
    z = _logits(logits)
    y = to_labels(labels)
    if y.shape[0] != z.shape[0] or y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError("labels must have one class id in [0, C) per row of logits")
    lo, hi = float(bounds[0]), float(bounds[1])
    if not 0 < lo < hi:
        raise ValueError(f"bounds must satisfy 0 < low < high, got {bounds}")
    z_y = z[np.arange(z.shape[0]), y]

    def objective(log_t: float) -> float:
        s = np.exp(-log_t)
        return float(np.mean(logsumexp(z * s, axis=1) - z_y * s))

    grid = np.linspace(np.log(lo), np.log(hi), 41)
    k = int(np.argmin([objective(v) for v in grid]))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = minimize_scalar(objective, bounds=(a, b), method="bounded", options={"xatol": 1e-6})
    best = res.x if res.fun < objective(grid[k]) else grid[k]
    return float(np.exp(best))
