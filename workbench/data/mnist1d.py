"""``mnist1d``: the MNIST-1D data set (Greydanus, 2020), generated offline.

Why this one: a 40-sample 1-D signal per example, ten classes built from ten hand-drawn
templates, cheap enough to train on a CPU in seconds, yet it separates model families
the way MNIST no longer does (the paper, 4,000 training samples: logistic regression
~32%, MLP ~70%, CNN ~94% test accuracy). Spatial inductive bias matters, so it is the
data set for the ``cnn1d`` model.

Generation: the ``mnist1d`` package (Greydanus and Steinbach, Apache-2.0) is called with
the paper's default arguments (``get_dataset_args``: templates of length 12, padding
36..60, scale, shear 0.75, translation up to 48, correlated noise 0.25 + iid noise 0.02,
interpolation to length 40; data set standardised to mean 0, std 1) except
``num_samples`` and ``seed``. Nothing is downloaded: we call ``make_dataset`` directly,
never ``get_dataset``. The package seeds numpy's and Python's *global* generators; we save
and restore both, so loading this data set does not disturb a caller's random state.

Our choices: the paper's fixed 4,000/1,000 train/test split is replaced by a 70/10/20
train/val/test split stratified by class and fixed by the load seed; ``generator_seed``
(default 42, the package default) fixes the samples themselves.

Example:
    >>> b = MNIST1D(n_samples=500).load(seed=0)
    >>> b.n_features, b.group_names, (len(b.train), len(b.val), len(b.test))
    (40, ['even', 'odd'], (350, 50, 100))
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np

from ..params import Params, param
from .base import CLASSIFICATION, DATASETS, DatasetBundle, Split, split_three

GROUP_BY = ("parity", "class")
SEQ_LEN = 40  # the paper's final_seq_length


@lru_cache(maxsize=4)
def generate(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X (n, 40) float32, y (n,) int64, t (40,) signal coordinates), cached and read-only.

    ``n_samples // 10`` samples per class, as the package makes them.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:  # pragma: no cover - the package is a declared dependency
        raise ValueError("mnist1d needs the 'mnist1d' package (pip install mnist1d); it "
                         "generates the data offline, nothing is downloaded") from None
    args = get_dataset_args()
    args.num_samples, args.seed = int(n_samples), int(seed)
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        d = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    X = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
    t = np.asarray(d["t"], dtype=np.float32)
    for a in (X, y, t):
        a.flags.writeable = False  # shared by every load: guard against in-place edits
    return X, y, t


@DATASETS.register("mnist1d")
@dataclass(frozen=True)
class MNIST1D(Params):
    """MNIST-1D (Greydanus 2020): ten 1-D digit templates, padded, scaled, sheared,
    translated and noised, then interpolated to 40 samples.

    ``n_samples`` (>= 100, default 5,000 as in the paper) are split 70/10/20 into train,
    val and test, stratified by class and fixed by the load seed; ``generator_seed``
    (default 42) fixes the generated signals. ``group_by``: ``"parity"`` (even/odd digit,
    default) or ``"class"`` (group = label). All splits are class-balanced up to rounding.

    Example:
        >>> b = MNIST1D(n_samples=200, group_by="class").load(seed=1)
        >>> b.n_groups, b.train.X.dtype.name
        (10, 'float32')
    """

    task: ClassVar[str] = CLASSIFICATION
    n_samples: int = param(5000, low=100, high=100_000, log=True,
                           help="Signals generated (before the train/val/test split).")
    group_by: str = param("parity", choices=GROUP_BY,
                          help="What defines the groups: the digit's parity or its class.")
    generator_seed: int = param(42, low=0, help="Seed of the signal generator (the paper: 42).")

    def load(self, seed: int) -> DatasetBundle:
        X, y, t = generate(self.n_samples, self.generator_seed)
        X, y = X.copy(), y.copy()
        if self.group_by == "parity":
            g, group_names = y % 2, ["even", "odd"]
        else:
            g, group_names = y.copy(), [str(c) for c in range(10)]
        tr, va, te = split_three(len(y), val=0.10, test=0.20, seed=seed, stratify=y)
        return DatasetBundle(
            name=self.name, task=CLASSIFICATION,
            train=Split(X[tr], y[tr], g[tr]), val=Split(X[va], y[va], g[va]),
            test=Split(X[te], y[te], g[te]),
            class_names=[str(c) for c in range(10)], group_names=group_names,
            notes="generated offline with the mnist1d package (paper defaults); splits "
                  "70/10/20 stratified by class, all near-balanced",
            extra={"signal_length": SEQ_LEN, "t": t.copy(), "group_by": self.group_by,
                   "generator_seed": self.generator_seed},
        )
