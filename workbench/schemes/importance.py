"""Importance weighting for covariate shift (Shimodaira 2000), REFERENCE.md section 4.

Under covariate shift p(y | x) is shared but p(x) moves between training and test, and
the test risk equals the training risk weighted by w(x) = p_test(x) / p_train(x). The
density ratio is estimated with a probabilistic domain classifier (training inputs
labelled 0, test inputs labelled 1): by Bayes' rule
w(x) = (n_tr / n_te) P(test | x) / P(train | x).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w, clipped = density_ratio(rng.normal(0, 1, (500, 1)), rng.normal(0, 1, (500, 1)))
    >>> bool(abs(w.mean() - 1) < 0.1), clipped
    (True, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..metrics.weights import effective_sample_size
from ..registry import check
from .base import SCHEMES, Batch, Scheme, State, TrainInfo, mean_one_over_train


def density_ratio(X_train: np.ndarray, X_test: np.ndarray, C: float = 1.0,
                  clip: float = 10.0) -> tuple[np.ndarray, float]:
    """Estimated p_test(x) / p_train(x) at every training input, and the clipped fraction.

    A logistic regression (scikit-learn, inverse regularisation ``C``) on the inputs
    standardised with the pooled mean and std separates train (0) from test (1); the odds
    P(test | x) / P(train | x) times n_tr / n_te is the ratio, clipped to [0, clip].
    """
    from sklearn.linear_model import LogisticRegression

    Xtr = np.asarray(X_train, dtype=np.float64).reshape(len(X_train), -1)
    Xte = np.asarray(X_test, dtype=np.float64).reshape(len(X_test), -1)
    both = np.concatenate([Xtr, Xte])
    mu, sd = both.mean(0), both.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = (both - mu) / sd
    labels = np.r_[np.zeros(len(Xtr)), np.ones(len(Xte))]
    clf = LogisticRegression(C=C, max_iter=1000).fit(Z, labels)
    log_odds = clf.decision_function(Z[:len(Xtr)])  # log P(test|x) / P(train|x)
    raw = np.exp(np.clip(log_odds, -50, 50)) * len(Xtr) / len(Xte)
    return np.minimum(raw, clip), float((raw > clip).mean())


@SCHEMES.register("importance_weighting")
@dataclass(frozen=True)
class ImportanceWeighting(Scheme):
    """Importance weighting (Shimodaira 2000): w(x) = p_test(x) / p_train(x), domain classifier.

    ``prepare`` fits a logistic-regression domain classifier (scikit-learn, inverse
    regularisation ``C``) on the training inputs (label 0) against the *test* inputs
    (label 1), and stores w(x_i) = (n_tr / n_te) P(test | x_i) / P(train | x_i), clipped
    to [0, clip], for every training sample as ``state["table"]`` (N,). Only the test
    split's unlabelled inputs X are used, never its targets: the transductive covariate-
    shift setting of the papers. The table is rescaled once to mean 1 over the training set
    (the true ratio already has mean 1 under the training distribution) and a batch's
    weights are the table at its samples: fixed weights, never rescaled per batch.
    ``state["ess"]`` (0-d) is the Kish effective sample size of the whole
    weight vector as a fraction of N, and ``state["report"]`` = {"ess", "clipped_fraction"}
    (plain floats) for the run's info. Clipping bounds the variance that large ratios bring
    (the concern of Double-Weighting for Covariate Shift Adaptation, Segovia-Martin et al.
    2023). Our choices: inputs standardised with pooled statistics before the (linear)
    classifier, so its log-odds and the log ratio are linear in x (exact for Gaussians with
    equal covariance); clip default 10; before ``prepare`` (or if it is not called) the
    table is all ones, i.e. ERM.

    Example:
        >>> ImportanceWeighting(clip=5.0).params()
        {'clip': 5.0, 'C': 1.0}
    """

    uniform_on_equal_losses: ClassVar[bool] = False  # weights depend on inputs, not losses
    normalisation: ClassVar[str] = "fixed"
    paper: ClassVar[str] = ("Shimodaira, Improving predictive inference under covariate shift "
                            "by weighting the log-likelihood function, 2000; Segovia-Martin "
                            "et al., Double-Weighting for Covariate Shift Adaptation, 2023")
    formula: ClassVar[str] = (r"w(x) = \min\!\left(\mathrm{clip},\ \frac{n_{tr}}{n_{te}}"
                              r"\frac{P(\mathrm{test} \mid x)}{P(\mathrm{train} \mid x)}\right)")
    clip: float = 10.0
    C: float = 1.0

    def __post_init__(self) -> None:
        for field in ("clip", "C"):
            value = getattr(self, field)
            check(isinstance(value, (int, float)) and not isinstance(value, bool)
                  and 0 < value < float("inf"),
                  f"importance_weighting {field} must be a finite number > 0, got {value!r}")

    def init_state(self, info: TrainInfo) -> State:
        return {"table": torch.ones(info.n, device=info.y.device)}

    def prepare(self, ctx, state: State) -> State:
        """Fit the domain classifier on train vs test inputs; fill the weight table."""
        X_tr, X_te = ctx.splits["train"].X, ctx.splits["test"].X
        w, clipped = density_ratio(X_tr.cpu().numpy(), X_te.cpu().numpy(), self.C, self.clip)
        table = mean_one_over_train(torch.as_tensor(w, dtype=torch.float64)).to(
            device=X_tr.device, dtype=torch.float32)
        ess = effective_sample_size(table)
        return {**state, "table": table, "ess": ess,
                "report": {"ess": float(ess), "clipped_fraction": clipped}}

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        table = state["table"].to(losses.device)
        return table[batch.idx.to(losses.device)].detach()
