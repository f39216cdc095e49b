"""``Run``: the record of one training run, and ``RunStatus``.

A run holds the config, the final ``summary`` (test metrics, plain floats), the tidy
``history`` (step, epoch, split, level, group, metric, value; ``level`` says whether
``group`` names a group, a class or "all"), the tracked-sample ``weights``
(step, epoch, sample_id, label, group, noisy, loss, weight), and the val/test ``predictions``
the calibration views need. ``info`` carries counts, names and timings.

Example:
    >>> r = Run(config=None, status="done", summary={"accuracy": 0.9})
    >>> r.ok
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

STATUSES = ("running", "done", "diverged", "cancelled", "failed")

HISTORY_COLUMNS = ["step", "epoch", "split", "level", "group", "metric", "value"]
LEVELS = ("all", "group", "class")  # a history row is about the whole split, a group or a class
WEIGHT_COLUMNS = ["step", "epoch", "sample_id", "label", "group", "noisy", "loss", "weight"]


@dataclass(kw_only=True)
class Run:
    config: Any
    status: str = "done"
    summary: dict = field(default_factory=dict)
    history: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=HISTORY_COLUMNS))
    weights: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WEIGHT_COLUMNS))
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    info: dict = field(default_factory=dict)
    boundary: pd.DataFrame = field(default_factory=pd.DataFrame)  # 2-D data: grid predictions
    diverged_step: int | None = None
    message: str = ""
    model: Any = None  # the trained torch module (in memory only, never stored)
    key: str = ""  # the run store's key, set when the run is saved or loaded
    stages: pd.DataFrame = field(default_factory=pd.DataFrame)  # earlier stages' records

    FRAMES = ("history", "weights", "predictions", "boundary", "stages")

    @property
    def ok(self) -> bool:
        return self.status == "done"

    @property
    def label(self) -> str:
        return self.config.label if self.config is not None else ""

    def curve(self, metric: str, split: str = "test", group: str = "all",
              level: str | None = None) -> pd.DataFrame:
        """One metric over steps: the rows of ``history`` for (split, group, metric);
        ``level`` "group" (default, "all" for group "all") or "class"."""
        h = self.history
        level = level or ("all" if group == "all" else "group")
        sel = ((h["metric"] == metric) & (h["split"] == split) & (h["group"] == group)
               & (h["level"] == level))
        return h.loc[sel, ["step", "epoch", "value"]].reset_index(drop=True)

    def __repr__(self) -> str:
        keys = ("accuracy", "balanced_accuracy", "worst_group_accuracy", "ece", "mse")
        shown = ", ".join(f"{k}={self.summary[k]:.4f}" for k in keys if k in self.summary)
        seed = getattr(self.config, "seed", "?")
        return f"Run({self.label}, seed={seed}, {self.status}, {shown})"


_STR = pd.Series(np.array(["a"], dtype=object)).dtype  # the column pandas makes of strings


def text_column(names, codes: np.ndarray):
    """``names[codes]`` as the column pandas would make of those strings, built fast.

    Why: pandas converts an object array of strings element by element (0.2-0.4 ms for a
    few thousand rows, several columns per frame, every run); with Arrow-backed strings
    the same column is a ``take`` from the few distinct names. Other string storage, names
    that are not all strings, or no rows: the plain object array, as before.

    Example:
        >>> list(pd.Series(text_column(["a", "b"], np.array([1, 0, 1]))))
        ['b', 'a', 'b']
    """
    names = list(names)
    codes = np.asarray(codes, dtype=np.int64)
    if (len(codes) and getattr(_STR, "storage", None) == "pyarrow"
            and all(isinstance(n, str) for n in names)):
        import pyarrow as pa

        return pd.array(pa.array(names, type=pa.large_string()).take(pa.array(codes)),
                        dtype=_STR)
    return np.asarray(names, dtype=object)[codes] if names else np.array([], dtype=object)


def with_level(history: pd.DataFrame) -> pd.DataFrame:
    """A history frame in the current columns: frames stored before the ``level`` column
    marked class rows with a "class:" prefix in ``group``; here they get ``level``.

    Example:
        >>> old = pd.DataFrame({"step": 0, "epoch": 0, "split": "val", "metric": "loss",
        ...                     "group": ["all", "even", "class:3"], "value": 1.0})
        >>> with_level(old)[["level", "group"]].values.tolist()
        [['all', 'all'], ['group', 'even'], ['class', '3']]
    """
    if "level" in history.columns or "group" not in history.columns:
        return history
    grp = history["group"].astype(str)
    is_class = grp.str.startswith("class:")
    out = history.assign(level=np.where(is_class, "class", np.where(grp == "all", "all",
                                                                   "group")),
                         group=np.where(is_class, grp.str.slice(6), grp))
    return out[[c for c in ["stage", *HISTORY_COLUMNS] if c in out.columns]
               + [c for c in out.columns if c not in HISTORY_COLUMNS and c != "stage"]]
