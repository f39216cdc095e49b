"""Importance weighting for covariate shift (Shimodaira 2000).

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
from ..params import param
from ..registry import check
from .base import SCHEMES, Batch, Scheme, State, TrainInfo, mean_one_over_train

FEATURES = ("auto", "quadratic", "linear")
_CROSS_TERMS_UP_TO = 30  # inputs of at most this many features get all products x_j x_k


def domain_features(Z: np.ndarray, features: str) -> np.ndarray:
    """The domain classifier's inputs: ``Z`` itself ("linear") or Z with its second-order
    terms ("quadratic": every product z_j z_k for up to 30 features, only the squares
    z_j^2 beyond, to keep the size linear in the dimension)."""
    if features == "linear":
        return Z
    d = Z.shape[1]
    if d <= _CROSS_TERMS_UP_TO:
        j, k = np.triu_indices(d)
        second = Z[:, j] * Z[:, k]
    else:
        second = Z**2
    Q = np.concatenate([Z, second], axis=1)
    sd = Q.std(0)
    return (Q - Q.mean(0)) / np.where(sd > 0, sd, 1.0)


def _fit(F: np.ndarray, labels: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=1000).fit(F, labels)


def choose_features(Z: np.ndarray, labels: np.ndarray, C: float, seed: int = 0) -> str:
    """"quadratic" if its domain classifier's held-out log loss is lower than the linear
    one's by more than one standard error of the paired per-sample difference, else
    "linear" (the simpler model unless the data ask for more: with a linear true log ratio
    the extra terms only add variance). Held out: a stratified quarter of the pooled
    inputs (fixed ``seed``)."""
    from sklearn.model_selection import train_test_split

    fit_idx, held_idx = train_test_split(np.arange(len(labels)), test_size=0.25,
                                         stratify=labels, random_state=seed)
    y = labels[held_idx]
    loss = {}
    for name in ("quadratic", "linear"):
        F = domain_features(Z, name)
        p = _fit(F[fit_idx], labels[fit_idx], C).predict_proba(F[held_idx])[:, 1]
        p = np.clip(p, 1e-15, 1 - 1e-15)
        loss[name] = -(y * np.log(p) + (1 - y) * np.log(1 - p))  # per held-out sample
    gain = loss["linear"] - loss["quadratic"]
    return "quadratic" if gain.mean() > gain.std(ddof=1) / np.sqrt(gain.size) else "linear"


def density_ratio(X_train: np.ndarray, X_test: np.ndarray, C: float = 1.0,
                  clip: float = 10.0, features: str = "auto",
                  return_features: bool = False) -> tuple:
    """Estimated p_test(x) / p_train(x) at every training input, and the clipped fraction.

    A logistic regression (scikit-learn, inverse regularisation ``C``) on the inputs
    standardised with the pooled mean and std, and with their second-order terms for
    ``features="quadratic"`` (see ``domain_features``), separates train (0) from test (1);
    the odds P(test | x) / P(train | x) times n_tr / n_te is the ratio, clipped to
    [0, clip]. Why quadratic: the log ratio of two Gaussians is quadratic in x (linear only
    when their covariances are equal), so the quadratic classifier is exact for Gaussian
    inputs; ``features="auto"`` (default) takes it when its held-out log loss is lower by
    more than a standard error (``choose_features``). ``return_features`` adds the map used.
    """
    check(features in FEATURES,
          f"features must be one of {', '.join(FEATURES)}, got {features!r}")
    Xtr = np.asarray(X_train, dtype=np.float64).reshape(len(X_train), -1)
    Xte = np.asarray(X_test, dtype=np.float64).reshape(len(X_test), -1)
    both = np.concatenate([Xtr, Xte])
    mu, sd = both.mean(0), both.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = (both - mu) / sd
    labels = np.r_[np.zeros(len(Xtr)), np.ones(len(Xte))]
    if features == "auto":
        features = choose_features(Z, labels, C)
    F = domain_features(Z, features)
    clf = _fit(F, labels, C)
    log_odds = clf.decision_function(F[:len(Xtr)])  # log P(test|x) / P(train|x)
    raw = np.exp(np.clip(log_odds, -50, 50)) * len(Xtr) / len(Xte)
    out = np.minimum(raw, clip), float((raw > clip).mean())
    return (*out, features) if return_features else out


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
    ``state["ess"]`` (0-d) is the Kish effective sample size of the whole weight vector as
    a fraction of N, and ``state["report"]`` = {"ess", "clipped_fraction" (floats),
    "features" (the map used)} for the run's info. Clipping bounds the variance that large
    ratios bring (the concern of Double-Weighting for Covariate Shift Adaptation,
    Segovia-Martin et al. 2023). Our choices: inputs standardised with pooled statistics;
    ``features`` "linear" (log ratio linear in x: exact for Gaussians with equal
    covariance), "quadratic" (with the second-order terms: exact for any two Gaussians) or
    "auto" (default: quadratic when its held-out log loss is lower by more than one
    standard error, else linear); clip default 10; before ``prepare`` (or if it is not
    called) the table is all ones, i.e. ERM.

    Example:
        >>> ImportanceWeighting(clip=5.0).params()
        {'clip': 5.0, 'C': 1.0, 'features': 'auto'}
    """

    uniform_on_equal_losses: ClassVar[bool] = False  # weights depend on inputs, not losses
    normalisation: ClassVar[str] = "fixed"
    paper: ClassVar[str] = ("Shimodaira, Improving predictive inference under covariate shift "
                            "by weighting the log-likelihood function, 2000; Segovia-Martin "
                            "et al., Double-Weighting for Covariate Shift Adaptation, 2023")
    formula: ClassVar[str] = (r"w(x) = \min\!\left(\mathrm{clip},\ \frac{n_{tr}}{n_{te}}"
                              r"\frac{P(\mathrm{test} \mid x)}{P(\mathrm{train} \mid x)}\right)")
    clip: float = param(10.0, low=0, closed="neither", log=True,
                        help="Largest weight: estimated density ratios are clipped to "
                             "[0, clip].")
    C: float = param(1.0, low=0, closed="neither", log=True,
                     help="Inverse regularisation of the domain classifier (scikit-learn's "
                          "LogisticRegression C).")
    features: str = param("auto", choices=FEATURES,
                          help="Domain classifier inputs: 'quadratic' adds second-order terms "
                               "(exact for Gaussian inputs), 'linear' does not, 'auto' picks "
                               "by held-out log loss.")

    def init_state(self, info: TrainInfo) -> State:
        return {"table": torch.ones(info.n, device=info.y.device)}

    def prepare(self, ctx, state: State) -> State:
        """Fit the domain classifier on train vs test inputs; fill the weight table."""
        X_tr, X_te = ctx.splits["train"].X, ctx.splits["test"].X
        w, clipped, features = density_ratio(X_tr.cpu().numpy(), X_te.cpu().numpy(), self.C,
                                             self.clip, self.features, return_features=True)
        table = mean_one_over_train(torch.as_tensor(w, dtype=torch.float64)).to(
            device=X_tr.device, dtype=torch.float32)
        ess = effective_sample_size(table)
        return {**state, "table": table, "ess": ess,
                "report": {"ess": float(ess), "clipped_fraction": clipped,
                           "features": features}}

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        table = state["table"].to(losses.device)
        return table[batch.idx.to(losses.device)].detach()
