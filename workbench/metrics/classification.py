"""Accuracy-type and fairness metrics, pure numpy.

Why here and not sklearn/fairlearn: the workbench needs the *same* definition in the
trainer, the app and the tests, with the edge cases decided once (absent classes, one-class
groups). The definitions follow sklearn (balanced accuracy, macro F1) and fairlearn
(demographic parity, equalized odds); the tests check them against sklearn.

"accuracy" is always the plain mean over the evaluation set it is given (every test sample
counts once). It is NOT the train-proportion-weighted group average that some JTT / Group
DRO code reports as "average accuracy". Group-level views are
``per_group_accuracy`` / ``worst_group_accuracy``.

Inputs may be numpy arrays, torch tensors or lists. ``y_pred`` is hard labels; a 2-D array
of scores/probabilities is reduced with ``argmax(axis=1)``.

Example:
    >>> accuracy([0, 1, 1, 1], [0, 1, 0, 1])
    0.75
    >>> worst_group_accuracy([0, 1, 1, 1], [0, 1, 0, 1], groups=[0, 0, 1, 1])
    0.5
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "group_gap",
    "macro_f1",
    "per_class_accuracy",
    "per_group_accuracy",
    "worst_class_accuracy",
    "worst_group_accuracy",
]


def to_numpy(x, dtype=np.float64) -> np.ndarray:
    """Convert a numpy array, torch tensor or sequence to a numpy array of ``dtype``."""
    if hasattr(x, "detach"):  # torch tensor: leave the graph and the device; bf16 -> f64
        x = x.detach().cpu()
        x = x.double() if x.is_floating_point() else x.long()
        x = x.numpy()
    return np.asarray(x, dtype=dtype)


def to_labels(x, name: str = "labels") -> np.ndarray:
    """Integer labels (N,) as int64; integral floats are accepted, anything else is not."""
    a = to_numpy(x)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (N,), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty: metrics need at least one sample")
    if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
        raise ValueError(f"{name} must hold integer class ids, got non-integer values")
    return a.astype(np.int64)


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    yp = to_numpy(y_pred)
    if yp.ndim == 2:
        yp = yp.argmax(axis=1)
    yt, yp = to_labels(y_true, "y_true"), to_labels(yp, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true and y_pred lengths differ: {yt.shape[0]} vs {yp.shape[0]}")
    return yt, yp


def _triple(y_true, y_pred, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yt, yp = _pair(y_true, y_pred)
    g = to_labels(groups, "groups")
    if g.shape != yt.shape:
        raise ValueError(f"groups has length {g.shape[0]}, y_true has {yt.shape[0]}")
    return yt, yp, g


def accuracy(y_true, y_pred) -> float:
    """Plain mean of ``y_true == y_pred`` over the given set (not train-proportion weighted)."""
    yt, yp = _pair(y_true, y_pred)
    return float(np.mean(yt == yp))


def per_class_accuracy(y_true, y_pred) -> dict[int, float]:
    """Recall of each class present in ``y_true``: {class: accuracy on that class}."""
    yt, yp = _pair(y_true, y_pred)
    return {int(c): float(np.mean(yp[yt == c] == c)) for c in np.unique(yt)}


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean per-class recall over the classes present in ``y_true`` (= sklearn's)."""
    return float(np.mean(list(per_class_accuracy(y_true, y_pred).values())))


def worst_class_accuracy(y_true, y_pred) -> float:
    """Minimum per-class recall over the classes present in ``y_true``."""
    return float(min(per_class_accuracy(y_true, y_pred).values()))


def macro_f1(y_true, y_pred) -> float:
    """Unweighted mean F1 = 2TP / (2TP + FP + FN) over classes in ``y_true`` or ``y_pred``.

    Same label set and zero-division result (0) as ``sklearn.metrics.f1_score(average="macro")``.
    """
    yt, yp = _pair(y_true, y_pred)
    scores = []
    for c in np.union1d(yt, yp):
        tp = np.sum((yt == c) & (yp == c))
        fp = np.sum((yt != c) & (yp == c))
        fn = np.sum((yt == c) & (yp != c))
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def per_group_accuracy(y_true, y_pred, groups) -> dict[int, float]:
    """Accuracy within each group present in ``groups``: {group: accuracy}."""
    yt, yp, g = _triple(y_true, y_pred, groups)
    return {int(k): float(np.mean(yt[g == k] == yp[g == k])) for k in np.unique(g)}


def worst_group_accuracy(y_true, y_pred, groups) -> float:
    """Minimum accuracy over the groups present (Sagawa et al. 2020's headline metric)."""
    return float(min(per_group_accuracy(y_true, y_pred, groups).values()))


def group_gap(y_true, y_pred, groups) -> float:
    """Best-group minus worst-group accuracy (0 when only one group is present)."""
    accs = list(per_group_accuracy(y_true, y_pred, groups).values())
    return float(max(accs) - min(accs))


def _binary(y_true, y_pred, groups):
    yt, yp, g = _triple(y_true, y_pred, groups)
    for name, a in (("y_true", yt), ("y_pred", yp)):
        if not np.isin(a, (0, 1)).all():
            raise ValueError(f"{name} must be binary with values in {{0, 1}} for this metric")
    return yt, yp, g


def _spread(rates: list[float]) -> float:
    """max - min over the defined (non-NaN) rates; NaN when none is defined."""
    r = np.asarray(rates, dtype=np.float64)
    r = r[~np.isnan(r)]
    return float(r.max() - r.min()) if r.size else float("nan")


def _rate(hit: np.ndarray) -> float:
    return float(hit.mean()) if hit.size else float("nan")


def demographic_parity_difference(y_true, y_pred, groups) -> float:
    """max_g P(y_pred=1 | g) - min_g P(y_pred=1 | g) (fairlearn, method="between_groups").

    ``y_true`` is unused but kept for a uniform (y_true, y_pred, groups) signature.

    Example:
        >>> demographic_parity_difference([0, 0, 1, 1], [1, 1, 0, 1], [0, 0, 1, 1])
        0.5
    """
    _, yp, g = _binary(y_true, y_pred, groups)
    return _spread([_rate(yp[g == k]) for k in np.unique(g)])


def equalized_odds_difference(y_true, y_pred, groups) -> float:
    """max(TPR spread, FPR spread) across groups (fairlearn, method="between_groups").

    A group without positives (negatives) has no TPR (FPR) and is left out of that spread;
    NaN if no group defines either rate. (fairlearn instead counts such a rate as 0, via
    sklearn's ``confusion_matrix(normalize="true")``, which can report a spurious gap of 1.)

    Example:
        >>> equalized_odds_difference([1, 0, 1, 0], [1, 0, 0, 0], [0, 0, 1, 1])
        1.0
    """
    yt, yp, g = _binary(y_true, y_pred, groups)
    ks = np.unique(g)
    tpr = _spread([_rate(yp[(g == k) & (yt == 1)]) for k in ks])
    fpr = _spread([_rate(yp[(g == k) & (yt == 0)]) for k in ks])
    defined = [r for r in (tpr, fpr) if not np.isnan(r)]
    return float(max(defined)) if defined else float("nan")
