"""``digits``: scikit-learn's 8x8 handwritten digits, the workbench's default data set.

Why this one: it ships inside scikit-learn (no download), has ten near-balanced classes
(so imbalance transforms control the class profile exactly), and a small MLP trains on
it in seconds on a CPU. The data are the UCI "Optical Recognition of Handwritten Digits"
test set (Alpaydin and Kaynak, 1998), 1,797 images, pixel values 0..16.

Example:
    >>> b = Digits(group_by="parity").load(seed=0)
    >>> b.n_features, b.group_names, len(b.train) + len(b.val) + len(b.test)
    (64, ['even', 'odd'], 1797)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np

from ..params import Params, param
from .base import CLASSIFICATION, DATASETS, DatasetBundle, Split, split_three

GROUP_BY = ("class", "parity", "ink")


@lru_cache(maxsize=1)
def _raw() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    X.flags.writeable = False  # shared by every load: guard against in-place edits
    y = d.target.astype(np.int64)
    y.flags.writeable = False
    return X, y


@DATASETS.register("digits")
@dataclass(frozen=True)
class Digits(Params):
    """scikit-learn's 8x8 digits (UCI, Alpaydin and Kaynak 1998), pixels scaled to [0, 1].

    ``group_by`` picks the group attribute: ``"parity"`` (even/odd digit), ``"class"``
    (group = label, so group schemes act on classes) or ``"ink"`` (total ink above the
    data set's median, a style attribute that cuts across classes). Splits are 55% train,
    15% val and 30% test, stratified by class and fixed by the seed; val and test keep the
    natural, near-balanced class profile.

    Example:
        >>> b = Digits(group_by="ink").load(seed=1)
        >>> b.group_names, len(b.test)
        (['low ink', 'high ink'], 540)
    """

    task: ClassVar[str] = CLASSIFICATION
    group_by: str = param("parity", choices=GROUP_BY,
                          help="What defines the groups: the class, its parity, or the amount "
                               "of ink.")

    def load(self, seed: int) -> DatasetBundle:
        X, y = _raw()
        X, y = X.copy(), y.copy()
        if self.group_by == "parity":
            g, group_names = y % 2, ["even", "odd"]
        elif self.group_by == "class":
            g, group_names = y.copy(), [str(c) for c in range(10)]
        else:
            ink = X.sum(axis=1)
            g, group_names = (ink > np.median(ink)).astype(np.int64), ["low ink", "high ink"]
        tr, va, te = split_three(len(y), val=0.15, test=0.30, seed=seed, stratify=y)
        return DatasetBundle(
            name=self.name, task=CLASSIFICATION,
            train=Split(X[tr], y[tr], g[tr]), val=Split(X[va], y[va], g[va]),
            test=Split(X[te], y[te], g[te]),
            class_names=[str(c) for c in range(10)], group_names=group_names,
            notes="val and test splits keep the natural, near-balanced class profile",
            extra={"image_shape": (8, 8), "group_by": self.group_by},
        )
