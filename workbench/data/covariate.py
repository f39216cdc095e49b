"""``covariate_shift``: Shimodaira's 1-D regression with a train/test input shift.

Why: importance weighting (``importance_weighting``) corrects covariate shift, where
p(y | x) is the same in training and test but p(x) is not. It helps only when the model is
misspecified: a straight line fitted to a cubic is pulled towards wherever the training
inputs are dense, and re-weighting moves it towards where the test inputs are. This is the
toy example of Shimodaira, "Improving predictive inference under covariate shift by
weighting the log-likelihood function" (J. Statistical Planning and Inference, 2000),
also used by Sugiyama et al.: x_train ~ N(0.5, 0.5^2), x_test ~ N(0, 0.3^2),
y = -x + x^3 + noise.

Example:
    >>> b = CovariateShift(n_train=200).load(seed=0)
    >>> b.task, b.n_features, b.group_names, len(b.train)
    ('regression', 1, ['x < 0', 'x >= 0'], 200)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..registry import check
from .base import DATASETS, REGRESSION, DatasetBundle, Split


def cubic(x: np.ndarray) -> np.ndarray:
    """The true regression function f(x) = -x + x^3."""
    return -x + x**3


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) \
        and math.isfinite(x)


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


@DATASETS.register("covariate_shift")
@dataclass(frozen=True)
class CovariateShift:
    """Shimodaira's (2000) covariate-shift regression: train inputs N(0.5, 0.5^2), test N(0, 0.3^2).

    y = -x + x^3 + noise * e with e ~ N(0, 1), the same conditional in every split; only
    the input distribution moves. Train and val inputs come from N(train_mean, train_std^2)
    (labelled data from the test distribution is what covariate shift lacks, so model
    selection on val sees the training distribution), test inputs from
    N(test_mean, test_std^2). Groups: 0 = "x < 0" (rare in training, half of the test set
    with the defaults), 1 = "x >= 0". Metric: test MSE (and worst-group MSE). A linear
    model is misspecified here, which is when importance weighting pays off.
    ``extra["density"]`` holds the two Gaussians' (mean, std) so the true density ratio
    p_test(x) / p_train(x) can be drawn.

    Example:
        >>> b = CovariateShift().load(seed=0)
        >>> bool(abs(b.train.X.mean() - 0.5) < 0.1), bool(abs(b.test.X.mean()) < 0.1)
        (True, True)
    """

    task: ClassVar[str] = REGRESSION
    n_train: int = 500
    n_val: int = 200
    n_test: int = 1000
    noise: float = 0.3
    train_mean: float = 0.5
    train_std: float = 0.5
    test_mean: float = 0.0
    test_std: float = 0.3

    def __post_init__(self):
        for field in ("n_train", "n_val", "n_test"):
            value = getattr(self, field)
            check(_is_int(value) and 10 <= value <= 1_000_000,
                  f"covariate_shift {field} must be an integer in 10..1000000, got {value!r}")
        for field in ("noise", "train_mean", "test_mean"):
            value = getattr(self, field)
            check(_is_number(value) and (field != "noise" or value >= 0),
                  f"covariate_shift {field} must be a finite number"
                  f"{' >= 0' if field == 'noise' else ''}, got {value!r}")
        for field in ("train_std", "test_std"):
            value = getattr(self, field)
            check(_is_number(value) and value > 0,
                  f"covariate_shift {field} must be a number > 0, got {value!r}")

    def load(self, seed: int) -> DatasetBundle:
        rng = np.random.default_rng(seed)

        def draw(n: int, mean: float, std: float) -> Split:
            x = mean + std * rng.standard_normal(n)
            y = cubic(x) + self.noise * rng.standard_normal(n)
            return Split(x[:, None].astype(np.float32), y.astype(np.float32),
                         (x >= 0).astype(np.int64))

        train = draw(self.n_train, self.train_mean, self.train_std)
        val = draw(self.n_val, self.train_mean, self.train_std)
        test = draw(self.n_test, self.test_mean, self.test_std)
        return DatasetBundle(
            name=self.name, task=REGRESSION, train=train, val=val, test=test,
            class_names=[], group_names=["x < 0", "x >= 0"],
            notes=(f"covariate shift: train and val x ~ N({self.train_mean}, "
                   f"{self.train_std}^2), test x ~ N({self.test_mean}, {self.test_std}^2); "
                   "y = -x + x^3 + noise in every split"),
            extra={"density": {"train": (self.train_mean, self.train_std),
                               "test": (self.test_mean, self.test_std)}},
        )
