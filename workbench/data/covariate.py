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

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import Params, param
from .base import DATASETS, REGRESSION, DatasetBundle, Split


def cubic(x: np.ndarray) -> np.ndarray:
    """The true regression function f(x) = -x + x^3."""
    return -x + x**3


@DATASETS.register("covariate_shift")
@dataclass(frozen=True, kw_only=True)
class CovariateShift(Params):
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
    n_train: int = param(500, low=10, high=1_000_000, log=True, help="Training samples.")
    n_val: int = param(200, low=10, high=1_000_000, log=True,
                       help="Validation samples (drawn like the training inputs).")
    n_test: int = param(1000, low=10, high=1_000_000, log=True,
                        help="Test samples (drawn from the shifted input distribution).")
    noise: float = param(0.3, low=0, help="Standard deviation of the target noise.")
    train_mean: float = param(0.5, help="Mean of the training inputs x.")
    train_std: float = param(0.5, low=0, closed="neither",
                             help="Standard deviation of the training inputs x.")
    test_mean: float = param(0.0, help="Mean of the test inputs x.")
    test_std: float = param(0.3, low=0, closed="neither",
                            help="Standard deviation of the test inputs x.")

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
