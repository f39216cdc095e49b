"""Static (data-only) schemes: weights fixed before training.

``uniform`` is plain ERM. ``inverse_frequency`` and ``effective_number`` give every class
(or group) one weight computed once from the training counts in ``init_state`` and stored
in the state as ``{"table": (K,)}``; a batch's weights are the table looked up at its labels
(or group ids), never rescaled per batch: the table has mean 1 over the training set, so
a batch's mean weight varies around 1 and mean_i(w_i l_i) is an unbiased estimate of the
weighted risk (SubpopBench's ReWeight, Cui et al.'s code). Classes absent from the training
set get weight 0 in the table (never inf); no sample can look them up.

Example:
    >>> import torch
    >>> from workbench.schemes.base import TrainInfo
    >>> info = TrainInfo(task="classification", y=torch.tensor([0, 0, 0, 1]),
    ...                  g=torch.zeros(4).long(), n_classes=2, n_groups=1, total_steps=10)
    >>> InverseFrequency().init_state(info)["table"]
    tensor([0.6667, 2.0000])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..params import param
from ..registry import check
from .base import SCHEMES, Batch, Scheme, State, TrainInfo, mean_one_over_train

BY_CHOICES = ("class", "group")


def by_param(what: str = "Weight") -> str:
    """The ``by`` hyper-parameter (shared with the sampling schemes)."""
    return param("class", choices=BY_CHOICES, help=f"{what} by class label or by group id.")


def train_counts(scheme: str, by: str, info: TrainInfo) -> tuple[torch.Tensor, torch.Tensor]:
    """(counts (K,), key of every training sample (N,)) for ``by`` = class or group."""
    if by == "group":
        return info.group_counts, info.g.long()
    check(info.task == "classification",
          f"{scheme} by='class' needs a classification task, got {info.task!r}; "
          "use by='group' for regression")
    return info.class_counts, info.y.long()


def batch_keys(by: str, batch: Batch) -> torch.Tensor:
    """Class labels or group ids of a batch, as indices."""
    return (batch.g if by == "group" else batch.y).long()


@SCHEMES.register("uniform")
@dataclass(frozen=True)
class Uniform(Scheme):
    """Uniform weights (ERM): every sample's loss counts the same.

    The baseline every other scheme is compared with; no hyper-parameters, no state.

    Example:
        >>> Uniform().params()
        {}
    """

    paper: ClassVar[str] = "Empirical risk minimisation (Vapnik, 1992)"
    formula: ClassVar[str] = r"w_i = 1"


@dataclass(frozen=True)
class _TableScheme(Scheme):
    """A weight per class or group, computed once from the training counts."""

    uniform_on_equal_losses: ClassVar[bool] = False  # weights depend on labels, not losses
    normalisation: ClassVar[str] = "fixed"
    # each subclass declares the field ``by: str = "class"`` after its own parameters

    def table(self, counts: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def init_state(self, info: TrainInfo) -> State:
        counts, _ = train_counts(self.name, self.by, info)
        return {"table": mean_one_over_train(self.table(counts), counts)}

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        table = state["table"].to(losses.device)
        return table[batch_keys(self.by, batch).to(losses.device)].detach()


@SCHEMES.register("inverse_frequency")
@dataclass(frozen=True)
class InverseFrequency(_TableScheme):
    """Inverse-frequency weights w_i proportional to n_{c(i)}^(-p), by class or by group.

    Up-weighting rare classes (or groups) so that each one contributes to the loss as if
    the data were balanced: p = 1 is the "upweight" / "scalarization" rule of Li et al.
    (NAACL 2025; SubpopBench ReWeight, scikit-learn's ``class_weight="balanced"`` up to
    scale), p = 0.5 the milder square-root variant (SqrtReWeight), p = 0 uniform.
    Fixed weights: the table is rescaled to mean 1 over the training set once and never
    rescaled per batch, so with p = 1 every class carries the same share of the objective
    at any batch size; empty classes get weight 0.

    Example:
        >>> InverseFrequency(p=0.5, by="group").params()
        {'p': 0.5, 'by': 'group'}
    """

    paper: ClassVar[str] = ("Li, Xu, Tan, Murray and Khashabi, Upsample or Upweight? Balanced "
                            "Training on Heavily Imbalanced Datasets, NAACL 2025 "
                            "(arXiv 2410.04579); SubpopBench ReWeight (Yang et al. 2023)")
    formula: ClassVar[str] = r"w_i \propto n_{c(i)}^{-p}"
    p: float = param(1.0, low=0, typical=(0.0, 2.0, 0.1),
                     help="Exponent on the count: 1 inverse frequency, 0.5 square root, "
                          "0 uniform.")
    by: str = by_param()

    def table(self, counts: torch.Tensor) -> torch.Tensor:
        safe = counts.clamp_min(1.0)
        return torch.where(counts > 0, safe.pow(-float(self.p)), torch.zeros_like(counts))


@SCHEMES.register("effective_number")
@dataclass(frozen=True)
class EffectiveNumber(_TableScheme):
    """Class-balanced weights from the "effective number" of samples (Cui et al. 2019).

    Each class c gets (1 - beta) / (1 - beta^n_c), the inverse of its effective number of
    samples (1 - beta^n) / (1 - beta): beta = 0 is uniform, beta -> 1 inverse frequency.
    Typical beta: 0.9, 0.99, 0.999, 0.9999. Our choices: the weights are normalised to mean 1
    over the training set (Cui et al. normalise them to sum to C over classes; the two differ
    by one constant factor), fixed, never rescaled per batch; ``by="group"`` applies the same
    rule to groups; empty classes get weight 0.

    Example:
        >>> EffectiveNumber(beta=0.9).params()
        {'beta': 0.9, 'by': 'class'}
    """

    paper: ClassVar[str] = ("Cui et al., Class-Balanced Loss Based on Effective Number of "
                            "Samples, CVPR 2019")
    formula: ClassVar[str] = r"w_i \propto \frac{1 - \beta}{1 - \beta^{n_{c(i)}}}"
    beta: float = param(0.999, low=0, high=1, closed="left",
                        help="beta in [0, 1): 0 is uniform, beta -> 1 approaches inverse "
                             "frequency (typical 0.9, 0.99, 0.999, 0.9999).")
    by: str = by_param()

    def table(self, counts: torch.Tensor) -> torch.Tensor:
        c64 = counts.to(torch.float64)
        denom = 1.0 - torch.pow(torch.tensor(float(self.beta), dtype=torch.float64), c64)
        w = (1.0 - self.beta) / torch.where(c64 > 0, denom, torch.ones_like(denom))
        return torch.where(c64 > 0, w, torch.zeros_like(w)).to(counts.dtype)
