"""Focal loss (Lin et al. 2017), in two named variants.

True focal loss keeps the gradient through the modulating factor (1 - p_t)^gamma; using it
as a detached per-sample weight on cross-entropy is a different method. Both are offered:
``variant="true"`` and ``variant="detached"``.

Example:
    >>> import torch
    >>> from workbench.schemes.base import Batch, TrainInfo
    >>> info = TrainInfo(task="classification", y=torch.tensor([0, 1]), g=torch.zeros(2).long(),
    ...                  n_classes=2, n_groups=1, total_steps=10)
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    >>> batch = Batch(idx=torch.arange(2), y=torch.tensor([0, 1]), g=torch.zeros(2).long(),
    ...               outputs=logits, step=0, n_groups=1, n_classes=2)
    >>> Focal(gamma=2.0).weights(torch.zeros(2), batch, {}, info)
    tensor([0.1076, 1.8924])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from ..params import param
from .base import SCHEMES, Batch, Scheme, State, TrainInfo
from .float32 import HUGE

VARIANTS = ("true", "detached")


def _log_pt(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """log p_t: log-probability of the true class, (B,)."""
    logp = F.log_softmax(outputs, dim=-1)
    return logp.gather(-1, y.long().reshape(-1, 1).to(logp.device)).squeeze(-1)


@SCHEMES.register("focal")
@dataclass(frozen=True)
class Focal(Scheme):
    """Focal loss (Lin et al. 2017): (1 - p_t)^gamma CE, down-weights confident samples.

    Well-classified samples (p_t near 1) contribute little, so training concentrates on the
    hard ones; gamma = 0 is plain cross-entropy, the paper's default gamma = 2.
    ``weights()`` always returns the detached factor (1 - p_t)^gamma rescaled to batch
    mean 1: that is what the workbench records and shows. With ``variant="true"`` the
    objective is the paper's loss, mean_i (1 - p_t)^gamma CE_i from the *non-detached*
    outputs, so the gradient also flows through the factor; it is NOT rescaled to mean 1
    (the loss shrinks as the model grows confident, as in the paper) and the ``weights``
    argument is ignored. With ``variant="detached"`` the objective is the default
    mean_i(w_i CE_i) with the normalised weights: a different method (our naming).
    Classification only. 1 - p_t is computed as |expm1(log p_t)| for precision, and the
    weights as B softmax(gamma log(1 - p_t)), so a large gamma gives the hardest samples
    the weight instead of underflowing every factor to 0 (which fell back to uniform);
    gamma above 3.4e38 (float32 inf) is rejected.

    Example:
        >>> Focal(gamma=1.0, variant="detached").params()
        {'gamma': 1.0, 'variant': 'detached'}
    """

    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    uniform_on_equal_losses: ClassVar[bool] = True  # equal CE -> equal p_t -> uniform
    normalisation: ClassVar[str] = "per-batch"  # the recorded (detached) factor
    paper: ClassVar[str] = "Lin et al., Focal Loss for Dense Object Detection, ICCV 2017"
    formula: ClassVar[str] = r"\ell_i = (1 - p_{t,i})^{\gamma}\,\mathrm{CE}_i"
    gamma: float = param(2.0, low=0, typical=(0.0, 5.0, 0.25),
                         float32=(0.0, HUGE, "gamma is a float32 exponent"),
                         help="Focusing parameter: 0 is plain cross-entropy, 2 the paper's "
                              "default.")
    variant: str = param("true", choices=VARIANTS,
                         help="'true': the gradient flows through (1 - p_t)^gamma, as in the "
                              "paper; 'detached': a detached weight on cross-entropy (a "
                              "different method).")

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        log_pt = _log_pt(batch.outputs.detach(), batch.y)
        if self.gamma == 0:
            return torch.ones_like(losses)
        # B softmax(gamma log(1 - p_t)) = (1 - p_t)^gamma rescaled to mean 1, without the
        # underflow of (1 - p_t)^gamma to 0 for every sample at large gamma
        log_factor = torch.expm1(log_pt).abs().log().mul_(float(self.gamma))
        if not bool(torch.isfinite(log_factor.max())):  # every p_t == 1 (or NaN outputs)
            return torch.ones_like(losses)
        return log_factor.softmax(0).mul_(log_factor.numel()).to(losses.device)

    def objective(self, losses: torch.Tensor, weights: torch.Tensor, outputs: torch.Tensor,
                  batch: Batch) -> torch.Tensor:
        if self.variant == "detached":
            return super().objective(losses, weights, outputs, batch)
        log_pt = _log_pt(outputs, batch.y)
        # clamp away from 0 so that d/dx x^gamma stays finite for gamma < 1 when p_t == 1
        factor = torch.expm1(log_pt).abs().clamp_min(1e-12).pow(float(self.gamma))
        return (factor * -log_pt).mean()
