"""Containers for data: a ``Split`` (arrays of one split) and a ``DatasetBundle``.

Data sets return numpy arrays; the engine moves them to the device once as tensors.
Every split carries a group id per sample (``g``), a stable sample id (``ids``) so
weight trajectories can follow a sample through transforms, and a ``noisy`` flag that
``label_noise`` sets, so the app can show how schemes treat corrupted samples.

Example:
    >>> import numpy as np
    >>> s = Split(X=np.zeros((4, 2), np.float32), y=np.array([0, 1, 1, 0]), g=np.zeros(4, int))
    >>> len(s.subset(np.array([0, 2])))
    2
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..registry import Registry

DATASETS = Registry("dataset")
TRANSFORMS = Registry("transform")

CLASSIFICATION = "classification"
REGRESSION = "regression"
LM = "lm"  # language modelling: X (n, T) token ids, y (n, T) next tokens, groups = domains


@dataclass
class Split:
    X: np.ndarray  # (n, d) float32; (n, T) int64 token ids for lm
    y: np.ndarray  # (n,) int64 class ids, float32 targets for regression, (n, T) int64 for lm
    g: np.ndarray  # (n,) int64 group ids
    ids: np.ndarray | None = None  # (n,) int64 stable sample ids
    noisy: np.ndarray | None = None  # (n,) bool, True where a transform corrupted the label

    def __post_init__(self):
        n = len(self.y)
        if self.ids is None:
            self.ids = np.arange(n, dtype=np.int64)
        if self.noisy is None:
            self.noisy = np.zeros(n, dtype=bool)
        for name in ("X", "g", "ids", "noisy"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"split arrays disagree in length: {name} has "
                                 f"{len(getattr(self, name))}, y has {n}")

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> Split:
        return Split(self.X[idx], self.y[idx], self.g[idx], self.ids[idx], self.noisy[idx])

    def with_labels(self, y: np.ndarray, noisy: np.ndarray) -> Split:
        return replace(self, y=y, noisy=noisy)


@dataclass(kw_only=True)
class DatasetBundle:
    """A loaded data set: three splits plus the names the app shows."""

    name: str
    task: str  # CLASSIFICATION, REGRESSION or LM
    train: Split
    val: Split
    test: Split
    class_names: list[str]
    group_names: list[str]
    notes: str = ""  # e.g. "test split balanced", "test split natural"
    extra: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        """Classes for classification, else 1. For lm the vocabulary size lives in
        ``extra["vocab_size"]``: it is not a class count, so lm has no per-class records."""
        return len(self.class_names) if self.task == CLASSIFICATION else 1

    @property
    def n_groups(self) -> int:
        return len(self.group_names)

    @property
    def n_features(self) -> int:
        return int(self.train.X.shape[1])

    def counts(self, split: str = "train") -> dict[str, np.ndarray]:
        s = getattr(self, split)
        out = {"group": np.bincount(s.g, minlength=self.n_groups)}
        if self.task == CLASSIFICATION:
            out["class"] = np.bincount(s.y, minlength=self.n_classes)
        return out


def split_three(n: int, val: float, test: float, seed: int, stratify: np.ndarray | None = None):
    """Indices of a train/val/test split, fixed by ``seed`` (stratified when given)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    rest, te = train_test_split(idx, test_size=test, random_state=seed,
                                stratify=None if stratify is None else stratify)
    strat_rest = None if stratify is None else stratify[rest]
    tr, va = train_test_split(rest, test_size=val / (1 - test), random_state=seed + 1,
                              stratify=strat_rest)
    return np.sort(tr), np.sort(va), np.sort(te)
