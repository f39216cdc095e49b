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

from ..registry import check
from .base import CLASSIFICATION, DATASETS, DatasetBundle, Split


@DATASETS.register("gaussian")
@dataclass(frozen=True)
class Gaussian:
    """Gaussian classes in d dimensions (any N, for benchmarks); groups: sign of x_0."""

    task: ClassVar[str] = CLASSIFICATION
    n_samples: int = 10_000
    n_features: int = 32
    n_classes: int = 10
    separation: float = 3.0

    def __post_init__(self):
        for name, low, high in (("n_samples", 100, 20_000_000), ("n_features", 1, 4096),
                                ("n_classes", 2, 1000)):
            v = getattr(self, name)
            check(isinstance(v, int) and not isinstance(v, bool) and low <= v <= high,
                  f"gaussian {name} must be an integer in [{low}, {high}], got {v!r}")
        check(isinstance(self.separation, (int, float)) and self.separation > 0,
              f"gaussian separation must be a number > 0, got {self.separation!r}")

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
        return DatasetBundle("gaussian", CLASSIFICATION, train, val, test,
                             [str(c) for c in range(self.n_classes)], ["x0<=0", "x0>0"],
                             notes="random 80/10/10 split; all splits share one distribution")
