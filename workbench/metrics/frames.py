"""Per-group metric tables and the run summaries the engine and app report.

Why: the question the workbench asks is "which groups did this weighting help or hurt",
so every metric is also computed per group (the MetricFrame idea of fairlearn, Weerts et
al. 2023) in one tidy table that plots and compares directly. Per-group calibration must
survive tiny and one-class groups (netcal's per-group ECE crashes on them): the number of classes is
taken from the probability matrix, never inferred
from the labels of a group, so a group with one sample or one label is just a small bin.

Undefined values are NaN, never an exception: a group listed in ``group_names`` with no
samples gets rows with n = 0 and NaN values; hard-label inputs have no nll/ece/brier rows.

Example:
    >>> import numpy as np
    >>> t = by_group([0, 1, 1], np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]), [0, 0, 1])
    >>> t[t.metric == "accuracy"][["group", "value", "n"]].values.tolist()
    [['0', 1.0, 2], ['1', 0.0, 1], ['all', 0.6666666666666666, 3]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import calibration as cal
from . import classification as cls
from .classification import to_labels, to_numpy

__all__ = ["by_group", "classification_summary", "regression_summary"]

TASKS = ("classification", "regression")


def _is_label_input(x) -> bool:
    if hasattr(x, "is_floating_point"):
        return not x.is_floating_point()
    return np.issubdtype(np.asarray(x).dtype, np.integer) or np.asarray(x).dtype == bool


def _names(ids: np.ndarray, group_names) -> dict[int, str]:
    if group_names is None:
        return {int(k): str(int(k)) for k in ids}
    if isinstance(group_names, Mapping):
        names = {int(k): str(v) for k, v in group_names.items()}
    elif isinstance(group_names, Sequence) and not isinstance(group_names, str):
        names = {i: str(v) for i, v in enumerate(group_names)}
    else:
        raise ValueError("group_names must be None, a sequence (index = group id) or a mapping")
    missing = sorted(set(ids.tolist()) - set(names))
    if missing:
        raise ValueError(f"group_names has no name for group ids {missing}")
    return names


def _argmax(p: np.ndarray) -> np.ndarray:
    """Predicted class; (N,) binary probs predict 1 iff p > 0.5 (= argmax of [1 - p, p])."""
    return (p > 0.5).astype(np.int64) if p.ndim == 1 else p.argmax(axis=1)


def by_group(y_true, y_pred_or_probs, groups, group_names=None, task: str = "classification",
             n_bins: int = 15) -> pd.DataFrame:
    """Tidy table (group, metric, value, n) of metrics per group plus an "all" row set.

    classification: ``y_pred_or_probs`` floating = probabilities (N, C) or binary (N,)
    -> accuracy, nll, ece (top-label / positive-class, ``n_bins`` uniform bins), brier;
    integer/bool = hard labels -> accuracy only. regression: predictions (N,) -> mse.
    ``group`` holds strings: ``group_names[id]`` when given (sequence or mapping), else
    ``str(id)``, and "all" for the whole set.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    cal._check_options(n_bins)
    g = to_labels(groups, "groups")
    if task == "regression":
        y, pred = to_numpy(y_true).reshape(-1), to_numpy(y_pred_or_probs).reshape(-1)
        metrics = ("mse",)

        def compute(i):
            return {"mse": float(np.mean((pred[i] - y[i]) ** 2))}
    elif _is_label_input(y_pred_or_probs):
        y, pred = to_labels(y_true, "y_true"), to_labels(y_pred_or_probs, "y_pred")
        metrics = ("accuracy",)

        def compute(i):
            return {"accuracy": float(np.mean(y[i] == pred[i]))}
    else:
        pred, y, binary = cal._prepare(y_pred_or_probs, y_true)  # validate once, whole set
        pred = pred[:, 1] if binary else pred
        metrics = ("accuracy", "nll", "ece", "brier")

        def compute(i):
            p, t = pred[i], y[i]
            return {"accuracy": cls.accuracy(t, _argmax(p)), "nll": cal.nll(p, t),
                    "ece": cal.expected_calibration_error(p, t, n_bins=n_bins),
                    "brier": cal.brier_score(p, t)}
    if not (y.shape[0] == pred.shape[0] == g.shape[0]) or y.shape[0] == 0:
        raise ValueError(f"y_true, predictions and groups need equal non-zero lengths, got "
                         f"{y.shape[0]}, {pred.shape[0]}, {g.shape[0]}")
    names = _names(np.unique(g), group_names)

    rows = []
    for k, name in sorted(names.items()):
        idx = np.flatnonzero(g == k)
        values = compute(idx) if idx.size else dict.fromkeys(metrics, float("nan"))
        rows += [(name, m, values[m], int(idx.size)) for m in metrics]
    values = compute(np.arange(y.shape[0]))
    rows += [("all", m, values[m], int(y.shape[0])) for m in metrics]
    return pd.DataFrame(rows, columns=["group", "metric", "value", "n"])


def classification_summary(probs, y, g, n_bins: int = 15) -> dict[str, float]:
    """Headline numbers of a classification run, as python floats.

    Keys: accuracy (plain test mean), balanced_accuracy, macro_f1, worst_group_accuracy,
    worst_class_accuracy, group_gap, ece (top-label, or positive-class for (N,) probs), mce,
    brier, nll.

    Example:
        >>> s = classification_summary([[0.9, 0.1], [0.4, 0.6]], [0, 1], [0, 1])
        >>> s["accuracy"], s["worst_group_accuracy"]
        (1.0, 1.0)
    """
    p, labels, binary = cal._prepare(probs, y)
    p = p[:, 1] if binary else p
    pred = _argmax(p)
    # each shared intermediate once (every run pays this summary): the per-class and
    # per-group accuracies give balanced/worst-class and worst-group/gap exactly as
    # ``balanced_accuracy``, ``worst_class_accuracy``, ``worst_group_accuracy`` and
    # ``group_gap`` form them; ECE and MCE reduce the same bins
    per_class = list(cls.per_class_accuracy(labels, pred).values())
    per_group = list(cls.per_group_accuracy(labels, pred, g).values())
    bins = cal._bin_arrays(*cal._conf_hit(*cal._prepare(p, labels)),
                           cal._check_options(n_bins), "uniform")
    return {
        "accuracy": cls.accuracy(labels, pred),
        "balanced_accuracy": float(np.mean(per_class)),
        "macro_f1": cls.macro_f1(labels, pred),
        "worst_group_accuracy": float(min(per_group)),
        "worst_class_accuracy": float(min(per_class)),
        "group_gap": float(max(per_group) - min(per_group)),
        "ece": cal._reduce(bins, "l1"),
        "mce": cal._reduce(bins, "max"),
        "brier": cal.brier_score(p, labels),
        "nll": cal.nll(p, labels),
    }


def regression_summary(pred, y, g) -> dict[str, float]:
    """{"mse": mean squared error, "worst_group_mse": max over present groups}.

    Example:
        >>> regression_summary([0.0, 1.0, 2.0], [0.0, 1.0, 4.0], [0, 0, 1])
        {'mse': 1.3333333333333333, 'worst_group_mse': 4.0}
    """
    t = by_group(y, pred, g, task="regression")
    t = t[t["n"] > 0]
    return {"mse": float(t.loc[t.group == "all", "value"].iloc[0]),
            "worst_group_mse": float(t.loc[t.group != "all", "value"].max())}
