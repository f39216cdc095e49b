"""``gaussian``: a scalable synthetic classification set for benchmarks and large-N demos.

Class means are random points on a sphere of radius ``separation`` in ``n_features``
dimensions; inputs are those means plus standard normal noise, so the Bayes error is
controlled by one number. A binary group attribute (a random half of feature space,
``x_0 > 0``) gives every sample a group without changing the labels. Sizes from a few
hundred to millions of samples are generated in seconds, with no file to ship: the
benchmarks use N = 10k, 100k and 1M.

Example:
    >>> b = Gaussian(n_samples=1000, n_features=8).load(seed=0)
    >>> b.n_features, b.n_classes, b.n_groups, len(b.train) + len(b.val) + len(b.test)
    (8, 10, 2, 1000)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import Params, param
from .base import CLASSIFICATION, DATASETS, DatasetBundle, Split


@DATASETS.register("gaussian")
@dataclass(frozen=True)
class Gaussian(Params):
    """Gaussian classes in d dimensions (any N, for benchmarks); groups: sign of x_0."""

    task: ClassVar[str] = CLASSIFICATION
    n_samples: int = param(10_000, low=100, high=20_000_000, log=True,
                           help="Samples drawn (before the train/val/test split).")
    n_features: int = param(32, low=1, high=4096, help="Input dimension.")
    n_classes: int = param(10, low=2, high=1000, help="Number of classes (one Gaussian each).")
    separation: float = param(3.0, low=0, closed="neither",
                              help="Distance scale between the class means (larger: easier).")

    def load(self, seed: int) -> DatasetBundle:
        rng = np.random.default_rng(seed)
        means = rng.standard_normal((self.n_classes, self.n_features)).astype(np.float32)
        means *= self.separation / np.linalg.norm(means, axis=1, keepdims=True)
        y = rng.integers(0, self.n_classes, self.n_samples)
        X = means[y] + rng.standard_normal((self.n_samples, self.n_features), dtype=np.float32)
        g = (X[:, 0] > 0).astype(np.int64)
        order = rng.permutation(self.n_samples)  # splits: 80 / 10 / 10, random
        cut1, cut2 = int(0.8 * self.n_samples), int(0.9 * self.n_samples)
        parts = [np.sort(order[:cut1]), np.sort(order[cut1:cut2]), np.sort(order[cut2:])]
        train, val, test = (Split(X[i], y[i].astype(np.int64), g[i]) for i in parts)
        return DatasetBundle(name="gaussian", task=CLASSIFICATION, train=train, val=val,
                             test=test, class_names=[str(c) for c in range(self.n_classes)],
                             group_names=["x0<=0", "x0>0"],
                             notes="random 80/10/10 split; all splits share one distribution")
