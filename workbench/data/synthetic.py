"""Synthetic data sets whose ground truth is known, so a scheme's effect can be seen.

``blobs2d`` lives in two dimensions so the app can draw decision boundaries; each class
hides a small minority sub-blob near its neighbour, the textbook setting in which
average accuracy looks fine while a group fails (Sagawa et al., "Distributionally
Robust Neural Networks", ICLR 2020). ``noisy_regression`` is the linear toy problem of
Sow et al., "Dynamic Loss-Based Sample Reweighting for Improved LLM Pretraining"
(ICLR 2025): a fraction of training targets is corrupted, and a good scheme down-weights
exactly those samples.

Example:
    >>> b = Blobs2D(n_classes=4, n_per_class=100).load(seed=0)
    >>> b.n_classes, b.n_groups, b.n_features
    (4, 2, 2)
    >>> r = NoisyRegression(n_samples=500, corrupt=0.2).load(seed=0)
    >>> r.task, bool(r.train.noisy.any()), bool(r.test.noisy.any())
    ('regression', True, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import Params, param
from .base import CLASSIFICATION, DATASETS, REGRESSION, DatasetBundle, Split, split_three

MINORITY_SHARE = 0.2  # share of each class drawn from its minority sub-blob


@DATASETS.register("blobs2d")
@dataclass(frozen=True)
class Blobs2D(Params):
    """Gaussian classes in 2-D, each a majority blob plus a shifted minority sub-blob.

    Class centres sit on a circle, adjacent centres 4 units apart. 80% of a class comes
    from a blob of standard deviation ``spread`` at its centre (group 0, "majority"); 20%
    from a tighter blob shifted towards the next class (group 1, "minority"), so an
    unweighted model sacrifices the minority sub-blobs first (cf. Sagawa et al., 2020).
    Splits are 60/20/20, stratified by class and group: the test split is balanced by
    class. ``extra`` holds the centres for plotting.

    Example:
        >>> b = Blobs2D().load(seed=0)
        >>> b.counts("test")["class"].tolist()
        [80, 80, 80]
    """

    task: ClassVar[str] = CLASSIFICATION
    n_classes: int = param(3, low=2, high=8, help="Number of classes (blobs).")
    n_per_class: int = param(400, low=20, high=100_000, log=True,
                             help="Samples per class before the imbalance transforms.")
    spread: float = param(1.0, low=0, closed="neither",
                          help="Standard deviation of each blob (larger: more overlap).")

    def load(self, seed: int) -> DatasetBundle:
        rng = np.random.default_rng(seed)
        C, n = self.n_classes, self.n_per_class
        radius = 2.0 / math.sin(math.pi / C)  # adjacent centres 4 apart
        angles = 2 * math.pi * np.arange(C) / C
        centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        tangents = np.stack([-np.sin(angles), np.cos(angles)], axis=1)
        n_min = max(1, round(MINORITY_SHARE * n))
        X, y, g = [], [], []
        for c in range(C):
            minor_centre = centres[c] + 1.8 * tangents[c]  # towards class c + 1
            X.append(centres[c] + self.spread * rng.standard_normal((n - n_min, 2)))
            X.append(minor_centre + 0.5 * self.spread * rng.standard_normal((n_min, 2)))
            y += [c] * n
            g += [0] * (n - n_min) + [1] * n_min
        X = np.concatenate(X).astype(np.float32)
        y, g = np.asarray(y, np.int64), np.asarray(g, np.int64)
        tr, va, te = split_three(len(y), val=0.2, test=0.2, seed=seed, stratify=2 * y + g)
        return DatasetBundle(
            name=self.name, task=CLASSIFICATION,
            train=Split(X[tr], y[tr], g[tr]), val=Split(X[va], y[va], g[va]),
            test=Split(X[te], y[te], g[te]),
            class_names=[f"class {c}" for c in range(C)], group_names=["majority", "minority"],
            notes="test split balanced by class; every class is 80% majority, 20% minority "
                  "sub-blob in every split",
            extra={"centres": centres.astype(np.float32)},
        )


@DATASETS.register("noisy_regression")
@dataclass(frozen=True, kw_only=True)
class NoisyRegression(Params):
    """Linear regression with a fraction of grossly corrupted training targets.

    The toy problem of Sow et al. (ICLR 2025): ``x ~ N(0, I)``, ``y = x.w* + noise * e``,
    and a fraction ``corrupt`` of *training* targets is replaced by
    ``y + corrupt_scale * std(y) * e'``. Group 1 ("corrupted") and ``noisy`` mark those
    samples. Splits are 70/15/15; val and test targets are clean (only group 0), so test
    error measures how well ``w*`` was recovered. ``y`` is float32; ``extra["w_star"]`` is
    the true weight.

    What it is for: seeing where a loss-based scheme puts its weight when the largest
    losses are *wrong* targets rather than hard samples. With ``corrupt`` = 0 it is the
    paper's clean toy, on which linupper and quadratic converge faster than uniform. With
    corrupted targets, every scheme that up-weights high losses up-weights the corrupted
    samples: mean tracked weight of corrupted vs clean samples over the last 3 of 10
    epochs (defaults, linear model, seed 0): linupper 1.44 vs 0.90, quadratic 1.42 vs 0.90,
    kl_dro 5.27 vs 0.00, cvar 4.10 vs 0.17, extremes 0.82 vs 1.04 (it favours both ends of
    the batch's loss range), and test MSE rises accordingly (uniform 0.049, linupper
    0.136, kl_dro 0.567). None of the built-in schemes is designed to find the corrupted
    samples; the data set shows that failure mode.

    Example:
        >>> b = NoisyRegression(n_samples=1000, corrupt=0.1).load(seed=0)
        >>> int(b.train.noisy.sum()), len(b.train), b.class_names
        (70, 700, [])
    """

    task: ClassVar[str] = REGRESSION
    n_samples: int = param(2000, low=50, high=1_000_000, log=True,
                           help="Samples drawn (before the train/val/test split).")
    n_features: int = param(20, low=1, high=10_000, help="Input dimension.")
    corrupt: float = param(0.2, low=0, high=1, closed="left", noun="a fraction",
                           help="Fraction of training targets corrupted by large noise.")
    noise: float = param(0.1, low=0, help="Standard deviation of the clean target noise.")
    corrupt_scale: float = param(5.0, low=0, closed="neither",
                                 help="Standard deviation of the corrupting noise.")

    def load(self, seed: int) -> DatasetBundle:
        rng = np.random.default_rng(seed)
        n, d = self.n_samples, self.n_features
        w_star = rng.standard_normal(d) / math.sqrt(d)  # keeps var(x.w*) near 1
        X = rng.standard_normal((n, d))
        y = X @ w_star + self.noise * rng.standard_normal(n)
        tr, va, te = split_three(n, val=0.15, test=0.15, seed=seed)
        y_tr = y[tr].copy()
        n_bad = round(self.corrupt * len(tr))
        bad = np.sort(rng.choice(len(tr), size=n_bad, replace=False))
        y_tr[bad] += self.corrupt_scale * y_tr.std() * rng.standard_normal(n_bad)
        g_tr = np.zeros(len(tr), np.int64)
        g_tr[bad] = 1
        X = X.astype(np.float32)

        def clean(idx):
            return Split(X[idx], y[idx].astype(np.float32), np.zeros(len(idx), np.int64))

        return DatasetBundle(
            name=self.name, task=REGRESSION,
            train=Split(X[tr], y_tr.astype(np.float32), g_tr, noisy=g_tr == 1),
            val=clean(va), test=clean(te),
            class_names=[], group_names=["clean", "corrupted"],
            notes=f"{n_bad} of {len(tr)} training targets corrupted; val and test targets "
                  "are clean (group 0 only)",
            extra={"w_star": w_star.astype(np.float32)},
        )
