"""Checks shared by the data sets made of a user's arrays (``features``, ``arrays``).

Why: a user's arrays fail in a handful of ways (text where numbers belong, NaN or values
float32 cannot hold, float labels, split names misspelt), and each should be said once, the
same way, naming the array and what is allowed, rather than surfacing as a NaN loss or an
index error deep in training.

Example:
    >>> codes(np.array(["water", "land", "water"]), "label y", None)
    (array([1, 0, 1]), ['land', 'water'])
    >>> split_codes(np.array(["train", "val", "test", "dev"]), "split")
    Traceback (most recent call last):
    ...
    ValueError: split has values 'dev'; allowed: train, val, test (or 0, 1, 2)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..registry import check

SPLIT_NAMES = ("train", "val", "test")


def as_numeric(X: np.ndarray, what: str) -> np.ndarray:
    """``X`` as float64, or a ValueError naming its dtype."""
    check(X.dtype.kind in "biuf", f"{what} must be numeric, got dtype {X.dtype} "
                                  f"(e.g. {X.flat[0].item()!r})" if X.size else
          f"{what} must be numeric, got dtype {X.dtype}")
    return X.astype(np.float64)


def check_finite(X: np.ndarray, what: str) -> None:
    """NaN, inf or values beyond float32's range in the 2-D ``X``: a ValueError with counts."""
    bad = ~np.isfinite(X) | (np.abs(np.nan_to_num(X)) > np.finfo(np.float32).max)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        check(False, f"{what} has {int(bad.sum())} non-finite or float32-overflowing values "
                     f"(NaN, inf or |x| > 3.4e38) in {len(rows)} row(s) (first: row "
                     f"{int(rows[0])}); remove or impute those rows")


def codes(values: np.ndarray, what: str, names: np.ndarray | None
           ) -> tuple[np.ndarray, list[str]]:
    """Integer codes 0..k-1 and names of a label or group array (integers kept as given
    when ``names`` names them, else sorted distinct values)."""
    check(values.ndim == 1, f"{what} must be 1-D (one value per sample), got shape "
                            f"{values.shape}")
    check(not pd.isna(values).any() if values.dtype.kind in "fOU" else True,
          f"{what} has missing values; every sample needs one")
    if values.dtype.kind == "f":
        odd = values[values != np.round(values)].tolist()[:1]
        check(not odd, f"{what} has non-integer values (e.g. {(odd or [None])[0]!r}); "
              "the labels and groups of a classification data set are integers or strings")
        values = values.astype(np.int64)
    check(values.dtype.kind in "biuUSO", f"{what} must hold integers or strings, got dtype "
                                         f"{values.dtype}")
    if names is not None:
        names = [str(v) for v in names.tolist()]
        check(values.dtype.kind in "biu", f"{what}: names are given, so it must hold integer "
                                          f"codes, got dtype {values.dtype}")
        check(values.min() >= 0 and values.max() < len(names),
              f"{what} has codes outside 0..{len(names) - 1} (the {len(names)} names given): "
              f"min {values.min()}, max {values.max()}")
        return values.astype(np.int64), names
    levels, codes = np.unique(values.astype(str) if values.dtype.kind in "OSU" else values,
                              return_inverse=True)
    return codes.astype(np.int64), [str(v) for v in levels]


def split_codes(values: np.ndarray, what: str) -> np.ndarray:
    """0/1/2 for train/val/test (strings, or the integers 0, 1, 2)."""
    v = values.astype(str) if values.dtype.kind in "OSU" else values
    if v.dtype.kind in "OSU":
        lower = np.char.lower(np.char.strip(v.astype(str)))
        codes = np.full(len(v), -1, np.int64)
        for i, name in enumerate(SPLIT_NAMES):
            codes[lower == name] = i
        bad = sorted(set(v[codes < 0].tolist()))
    elif v.dtype.kind in "biuf":
        codes = np.where(np.isin(v, [0, 1, 2]), v, -1).astype(np.int64)
        bad = sorted(set(v[codes < 0].tolist()))
    else:
        codes, bad = np.full(len(v), -1), [f"dtype {v.dtype}"]
    check(not bad, f"{what} has values {', '.join(map(repr, bad[:5]))}"
                   f"{' ...' if len(bad) > 5 else ''}; allowed: train, val, test (or 0, 1, 2)")
    for i, name in enumerate(SPLIT_NAMES):
        check((codes == i).any(), f"{what} has no {name!r} rows; every split needs samples")
    return codes
