"""Post-hoc calibration of stored predictions: temperature scaling per run, and a table.

Why: reweighting shifts a model's confidence (up-weighting rare classes makes it
over-predict them, loss-based schemes change how sharp it is). One temperature T per run,
fitted on that run's *validation* split (Guo et al., ICML 2017), separates "the scheme hurt
calibration" (fixed by T, ``ece_ts`` small) from "the scheme hurt the ranking" (not fixable
by T: accuracy is unchanged by scaling).

Works on ``Comparison.frame("predictions")`` (scheme, seed, key, split, sample_id, label,
group, ..., confidence, p0..p{C-1}). Only probabilities are stored, so T is fitted on the
log-probabilities: softmax(log p / T) = softmax(z / T) for logits z, up to the clip at
1e-300 (the stored probs are float64).

Example:
    >>> import workbench as wb
    >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"),
    ...                  schemes=["uniform"], seeds=[0])
    >>> table = calibration_table(cmp.frame("predictions"))
    >>> list(table.columns)[:6]
    ['scheme', 'n', 'ece', 'mce', 'brier', 'nll']
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .calibration import (
    apply_temperature,
    brier_score,
    expected_calibration_error,
    fit_temperature,
    maximum_calibration_error,
    nll,
)

__all__ = ["calibration_table", "prob_columns", "run_keys", "temperature_scaled"]

METRICS = ("ece", "mce", "brier", "nll", "accuracy")
SCALED = ("temperature", "ece_ts", "nll_ts", "brier_ts")
TINY = 1e-300


def prob_columns(predictions: pd.DataFrame) -> list[str]:
    """The p0..p{C-1} columns, in class order (p10 after p9); [] for regression."""
    cols = [c for c in predictions.columns if re.fullmatch(r"p\d+", str(c))]
    return sorted(cols, key=lambda c: int(c[1:]))


def run_keys(predictions: pd.DataFrame) -> list[str]:
    """Columns that identify one run in a stacked frame."""
    return [c for c in ("scheme", "seed", "key") if c in predictions.columns]


def _log_probs(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, TINY, None))


def _run_temperature(rows: pd.DataFrame, pcols: list[str]) -> float:
    """T fitted on the run's val rows (1.0 when the run has no val rows)."""
    val = rows[rows["split"] == "val"] if "split" in rows.columns else rows.iloc[:0]
    if val.empty:
        return 1.0
    return fit_temperature(_log_probs(val[pcols].to_numpy(dtype=float)),
                           val["label"].to_numpy().astype(np.int64))


def temperature_scaled(predictions: pd.DataFrame) -> pd.DataFrame:
    """The predictions with p columns and confidence replaced by temperature-scaled ones.

    One T per run (scheme, seed, key), fitted on its val rows and applied to all its rows;
    a ``temperature`` column holds it (1.0 where a run has no val rows). ``pred`` is kept:
    scaling by T > 0 never changes the argmax. Frames without class probabilities
    (regression) come back unchanged.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"scheme": "s", "seed": 0, "split": ["val", "val", "test"],
        ...                    "label": [0, 1, 0], "pred": [0, 0, 0],
        ...                    "confidence": [0.9, 0.9, 0.9], "p0": [0.9, 0.9, 0.9],
        ...                    "p1": [0.1, 0.1, 0.1]})
        >>> out = temperature_scaled(df)
        >>> bool(out["confidence"].iloc[2] < 0.9), out["pred"].tolist()
        (True, [0, 0, 0])
    """
    out = predictions.copy()
    pcols = prob_columns(out)
    if out.empty or not pcols:
        return out
    out[pcols] = out[pcols].astype(float)
    out["confidence"] = out["confidence"].astype(float) if "confidence" in out else np.nan
    out["temperature"] = 1.0
    for _, rows in out.groupby(run_keys(out), sort=False, dropna=False):
        t = _run_temperature(rows, pcols)
        scaled = apply_temperature(_log_probs(rows[pcols].to_numpy(dtype=float)), t)
        out.loc[rows.index, pcols] = scaled
        out.loc[rows.index, "confidence"] = scaled.max(axis=1)
        out.loc[rows.index, "temperature"] = t
    return out


def _scores(p: np.ndarray, y: np.ndarray, n_bins: int) -> dict[str, float]:
    return {"ece": expected_calibration_error(p, y, n_bins=n_bins),
            "mce": maximum_calibration_error(p, y, n_bins=n_bins),
            "brier": brier_score(p, y), "nll": nll(p, y),
            "accuracy": float(np.mean(p.argmax(axis=1) == y))}


def calibration_table(predictions: pd.DataFrame, n_bins: int = 15, split: str = "test",
                      by_run: bool = False) -> pd.DataFrame:
    """Calibration per scheme (mean over seeds), before and after temperature scaling.

    Columns: scheme, n (runs), ece, mce, brier, nll, accuracy on ``split``, then the
    val-fitted ``temperature`` and ece_ts, nll_ts, brier_ts after scaling (accuracy does
    not change). T > 1 means the scheme left the model over-confident. ``split="val"``
    scores the split T was fitted on (there nll_ts <= nll up to the optimiser's tolerance);
    ``by_run=True`` gives one row per run (with seed) instead of the mean. Frames without
    class probabilities give an empty table with these columns.

    Example:
        >>> import pandas as pd
        >>> calibration_table(pd.DataFrame()).empty
        True
    """
    columns = ["scheme", *(["seed"] if by_run else ["n"]), *METRICS, *SCALED]
    pcols = prob_columns(predictions) if predictions is not None else []
    if predictions is None or predictions.empty or not pcols or "label" not in predictions:
        return pd.DataFrame(columns=columns)
    scaled = temperature_scaled(predictions)
    rows = []
    for key, part in scaled.groupby(run_keys(scaled), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        before = predictions.loc[part.index]
        sel = (part["split"] == split).to_numpy() if "split" in part else np.ones(len(part), bool)
        if not sel.any():
            continue
        y = part["label"].to_numpy()[sel].astype(np.int64)
        raw = _scores(before[pcols].to_numpy(dtype=float)[sel], y, n_bins)
        ts = _scores(part[pcols].to_numpy(dtype=float)[sel], y, n_bins)
        ident = dict(zip(run_keys(scaled), key))
        rows.append({"scheme": ident.get("scheme", ""), "seed": ident.get("seed", 0), **raw,
                     "temperature": float(part["temperature"].iloc[0]), "ece_ts": ts["ece"],
                     "nll_ts": ts["nll"], "brier_ts": ts["brier"]})
    if not rows:
        return pd.DataFrame(columns=columns)
    per_run = pd.DataFrame(rows)
    if by_run:
        return per_run[columns].reset_index(drop=True)
    values = [*METRICS, *SCALED]
    out = per_run.groupby("scheme", sort=False)[values].mean()
    out.insert(0, "n", per_run.groupby("scheme", sort=False).size())
    return out.reset_index()[columns]
