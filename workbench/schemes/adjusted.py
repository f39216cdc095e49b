"""Logit adjustment (Menon et al., ICLR 2021): a loss, not a weight.

The logit-adjusted loss adds tau log pi_c to every logit before the softmax cross-entropy,
pi being the training class priors. Rare classes then need a larger margin to be
predicted during training, which makes the raw logits Fisher-consistent for the
*balanced* error. The sample weights stay uniform.

Example:
    >>> import torch
    >>> from workbench.schemes.base import TrainInfo
    >>> info = TrainInfo(task="classification", y=torch.tensor([0, 0, 0, 1]),
    ...                  g=torch.zeros(4).long(), n_classes=2, n_groups=1, total_steps=10)
    >>> log_priors(info)
    tensor([-0.2877, -1.3863])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from ..params import param
from ..registry import check
from .base import SCHEMES, Scheme, TrainInfo
from .float32 import HUGE


def log_priors(info: TrainInfo) -> torch.Tensor:
    """log pi_c = log(n_c / N) over the training set; an empty class counts as one sample."""
    counts = info.class_counts.clamp_min(1.0)
    return torch.log(counts / info.n)


@SCHEMES.register("logit_adjustment")
@dataclass(frozen=True)
class LogitAdjustment(Scheme):
    """Logit-adjusted loss (Menon et al., ICLR 2021): CE on logits + tau log pi.

    l_i = -log softmax(f(x_i) + tau log pi)_{y_i}, with pi_c = n_c / N the training class
    priors (the "logit-adjusted loss" of the paper, Eq. 10; tau = 1 is its default).
    Weights are uniform. Prediction at test time uses the *raw* logits f(x): the
    adjustment lives in the training loss only. (The paper's other variant, post-hoc
    logit adjustment, instead trains with plain CE and predicts argmax f(x) - tau log pi;
    that one is not this scheme.) Our choices: the adjustment is added to every logit, as
    in the paper (not to the label's logit alone); an empty training class is counted as
    one sample (pi = 1/N) so its adjustment stays finite; classification only.

    Example:
        >>> LogitAdjustment(tau=2.0).params()
        {'tau': 2.0}
    """

    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    # the weights are always uniform, but equal logits do not give equal adjusted losses
    # (the contract test builds "equal losses" from equal logits), so the flag is not claimed
    uniform_on_equal_losses: ClassVar[bool] = False
    paper: ClassVar[str] = ("Menon et al., Long-Tail Learning via Logit Adjustment, ICLR 2021")
    formula: ClassVar[str] = (r"l_i = -\log \frac{e^{f_{y_i}(x_i) + \tau \log \pi_{y_i}}}"
                              r"{\sum_c e^{f_c(x_i) + \tau \log \pi_c}},\quad w_i = 1")
    tau: float = param(1.0, low=0, typical=(0.25, 10.0, 0.25),
                       float32=(0.0, HUGE, "tau log pi is added to float32 logits"),
                       help="Adjustment strength: tau log(prior) is added to each logit in "
                            "the loss; 0 is cross-entropy, 1 the paper's default.")

    def loss(self, outputs: torch.Tensor, y: torch.Tensor, info: TrainInfo) -> torch.Tensor:
        check(info.task == "classification",
              f"logit_adjustment needs a classification task, got {info.task!r}")
        shift = self.tau * log_priors(info).to(outputs.device, outputs.dtype)
        return F.cross_entropy(outputs + shift, y.long(), reduction="none")
