"""CVaR-DRO (Levy et al. 2020): train on the worst alpha fraction.

The conditional value at risk at level alpha of the batch losses is the mean of the top
alpha fraction of them; its dual form puts weight 1/alpha on those samples and 0 on the
rest. Minimising it is distributionally robust optimisation over every re-weighting of
the batch whose density ratio is at most 1/alpha.

Example:
    >>> import torch
    >>> from workbench.schemes.base import Batch, TrainInfo
    >>> info = TrainInfo(task="regression", y=torch.zeros(4), g=torch.zeros(4).long(),
    ...                  n_classes=1, n_groups=1, total_steps=10)
    >>> batch = Batch(idx=torch.arange(4), y=torch.zeros(4), g=torch.zeros(4).long(),
    ...               outputs=torch.zeros(4), step=0, n_groups=1, n_classes=1)
    >>> CVaR(alpha=0.5).weights(torch.tensor([0.1, 3.0, 2.0, 0.5]), batch, {}, info)
    tensor([0., 2., 2., 0.])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..params import param
from .base import SCHEMES, Batch, Scheme, State, TrainInfo, normalise
from .float32 import TINY

_TIE_RTOL = 1e-6  # losses this close (relative to max |l|) to the cut-off count as tied


def cvar_weights(losses: torch.Tensor, alpha: float) -> torch.Tensor:
    """Weights 1/alpha on the top k = max(1, ceil(alpha B)) losses, 0 elsewhere, mean 1.

    Samples tied with the k-th largest loss (within float rounding) share the weight
    left for the tie equally, so the result does not depend on the order of the batch
    and equal losses give uniform weights.
    """
    losses = losses.detach()
    B = losses.numel()
    if B == 0 or not torch.isfinite(losses).all():
        return torch.ones_like(losses)
    k = min(B, max(1, math.ceil(alpha * B - 1e-9)))
    cut = torch.topk(losses, k).values[-1]
    tol = _TIE_RTOL * losses.abs().max()
    above = losses > cut + tol
    tied = (losses - cut).abs() <= tol
    left = k - above.sum()  # slots the tied samples share
    share = left.to(losses.dtype) / tied.sum().clamp_min(1).to(losses.dtype)
    w = torch.where(above, torch.ones_like(losses), torch.where(tied, share, 0.0)) / alpha
    return normalise(w)


@SCHEMES.register("cvar")
@dataclass(frozen=True)
class CVaR(Scheme):
    """CVaR-DRO (Levy et al. 2020): weight 1/alpha on the top alpha fraction of batch losses.

    w_i = 1/alpha for the k = max(1, ceil(alpha B)) largest losses of the batch, 0 for the
    others, rescaled to batch mean 1 (so each selected sample gets B/k). alpha = 1 is ERM;
    small alpha trains on the hardest samples only (and on label noise, if any). Our
    choices: the exact CVaR gives the sample at the cut-off a fractional weight when
    alpha B is not an integer; we round k up instead (at least one sample). Samples tied
    at the cut-off share the remaining weight equally (so equal losses give uniform
    weights); a batch with a non-finite loss gets uniform weights; alpha below 1.2e-38 is
    rejected (1/alpha would overflow float32 and the weights would fall back to uniform).

    Example:
        >>> CVaR(alpha=0.1).params()
        {'alpha': 0.1}
    """

    normalisation: ClassVar[str] = "per-batch"
    paper: ClassVar[str] = ("Levy, Carmon, Duchi and Sidford, Large-Scale Methods for "
                            "Distributionally Robust Optimization, NeurIPS 2020")
    formula: ClassVar[str] = (r"w_i = \frac{1}{\alpha}\,\mathbb{1}[l_i \ge l_{(k)}],\quad "
                              r"k = \max(1, \lceil \alpha B \rceil)")
    alpha: float = param(0.2, low=0, high=1, closed="right", noun="a fraction",
                         typical=(0.05, 1.0, 0.05),
                         float32=(TINY, 1.0, "1/alpha overflows float32"),
                         help="Fraction of the batch (its largest losses) that gets weight.")

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        return cvar_weights(losses, float(self.alpha))
