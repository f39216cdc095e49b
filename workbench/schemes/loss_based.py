"""Dynamic loss-based instance schemes: recomputed every step.

``linupper``, ``quadratic`` and ``extremes`` are the three strategies of Sow et al.
(ICLR 2025, arXiv 2502.06733), sharing :class:`SowScheme`:

1. min-max normalise the batch losses to [-delta, delta]:
   h_i = delta (2 l_i - l_max - l_min) / (l_max - l_min) (l_max == l_min: uniform weights);
2. apply the strategy f(h);
3. w = B softmax(f / r), the closed form of max_w sum_i w_i f_i - r KL(w || uniform).

``kl_dro`` weights the raw losses instead: w = B softmax(l / lam).

Example:
    >>> import torch
    >>> from workbench.schemes.base import Batch, TrainInfo
    >>> info = TrainInfo(task="regression", y=torch.zeros(4), g=torch.zeros(4).long(),
    ...                  n_classes=1, n_groups=1, total_steps=100)
    >>> losses = torch.tensor([1.0, 2.0, 3.0, 5.0])
    >>> batch = Batch(idx=torch.arange(4), y=torch.zeros(4), g=torch.zeros(4).long(),
    ...               outputs=torch.zeros(4), step=0, n_groups=1, n_classes=1)
    >>> LinUpper().weights(losses, batch, {}, info)
    tensor([0.4947, 0.8157, 1.3448, 1.3448])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..params import param
from .base import SCHEMES, Batch, Scheme, State, TrainInfo, normalise
from .float32 import HUGE, TINY

_PAPER_SOW = ("Sow et al., Dynamic Loss-Based Sample Reweighting for Improved Large Language "
              "Model Pretraining, ICLR 2025 (arXiv 2502.06733)")
_EQUAL_RTOL = 1e-6  # losses whose range is below this fraction of max |l| count as equal
_STEPS = (r"h_i = \delta \frac{2 l_i - l_{\max} - l_{\min}}{l_{\max} - l_{\min}},\quad "
          r"w_i = B\,\mathrm{softmax}_i\!\left(f(h)/r\right),\quad ")


_SHARED = "; the three Sow et al. strategies share one range, set by quadratic's delta^2"


def _delta(why: str):
    """The ``delta`` field, with the reason its float32 range applies to this strategy."""
    return param(1.0, low=0, closed="neither", typical=(0.1, 3.0, 0.1),
                 float32=(TINY**0.5, HUGE**0.5, why),
                 help="Half-width of the normalised loss range [-delta, delta].")


@dataclass(frozen=True)
class SowScheme(Scheme):
    """Shared steps of Sow et al.'s strategies; subclasses give only ``strategy(h)``.

    Parameters: ``delta`` (> 0) the half-width of the normalised loss range, ``r`` (> 0)
    the KL strength (largest weight ratio e^{(max f - min f)/r}, i.e. e^{1/r} for
    delta = 1), ``burn_in`` in [0, 1): uniform weights while
    ``step < burn_in * total_steps`` (the authors use 1,000 steps of 20k; a fraction here
    is our choice so that it scales with the run length). Also ours: losses whose range
    is below 1e-6 of max |l| (float rounding) count as equal and give uniform weights, as
    min-max normalisation would otherwise blow rounding noise up to the full weight range;
    delta must lie in [1.1e-19, 1.8e19] and r in [1.2e-38, 3.4e38] (what float32 holds:
    quadratic divides by delta^2, the softmax by r), other values are rejected.
    """

    normalisation: ClassVar[str] = "per-batch"  # softmax over the batch, times B
    delta: float = _delta("delta^2 must be a normal float32")
    r: float = param(
        1.0, low=0, closed="neither", log=True, typical=(0.05, 5.0, 0.05),
        float32=(TINY, HUGE, "the weights divide by r"),
        help="KL strength r > 0: the largest weight ratio in a batch is e^(1/r) for "
             "delta = 1; smaller r gives sharper weights (paper default 1, 0.4 in larger runs).")
    burn_in: float = param(
        0.0, low=0, high=1, closed="left", noun="a fraction of training",
        help="Fraction of training with uniform weights before reweighting starts (the "
             "authors use 1,000 of 20k steps).")

    def strategy(self, h: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        losses = losses.detach()
        B = losses.numel()
        if B < 2 or batch.step < self.burn_in * info.total_steps:
            return torch.ones_like(losses)
        # two host reads, then ~6 tensor ops: this runs at every step of every run
        lo, hi = (float(v) for v in torch.aminmax(losses))
        span = hi - lo
        if not (span > _EQUAL_RTOL * max(abs(hi), abs(lo)) and span < float("inf")):
            return torch.ones_like(losses)  # equal losses (up to rounding) or non-finite
        # (2l - hi - lo) / span is in [-1, 1] before delta scales it, and the softmax input
        # f - max f <= 0 is divided by r: no overflow for any delta and r in range
        h = losses.mul(2.0).sub_(hi + lo).div_(span).clamp_(-1.0, 1.0)
        if self.delta != 1.0:  # x * 1 and x / 1 are x exactly: the defaults skip two ops
            h = h.mul_(self.delta)
        f = self.strategy(h)  # a new tensor: changed in place below
        f = f.sub_(f.max())
        if self.r != 1.0:
            f = f.div_(self.r)
        return f.softmax(0).mul_(B)  # softmax sums to 1: mean 1


@SCHEMES.register("linupper")
@dataclass(frozen=True)
class LinUpper(SowScheme):
    """LinUpper (Sow et al. 2025): f(h) = min(h + delta, delta), down-weights low losses.

    Samples below the middle of the batch's loss range get linearly less weight; all samples
    above it share the top weight, so high-loss outliers are not amplified further. The paper
    finds it converges fastest. Our choices: see :class:`SowScheme` (burn-in as a fraction).

    Example:
        >>> LinUpper(r=0.4).params()
        {'delta': 1.0, 'r': 0.4, 'burn_in': 0.0}
    """

    paper: ClassVar[str] = _PAPER_SOW
    formula: ClassVar[str] = _STEPS + r"f(h) = \min(h + \delta, \delta)"
    delta: float = _delta("linupper computes min(h + delta, delta) in float32" + _SHARED)

    def strategy(self, h: torch.Tensor) -> torch.Tensor:
        return torch.clamp(h + self.delta, max=self.delta)


@SCHEMES.register("quadratic")
@dataclass(frozen=True)
class Quadratic(SowScheme):
    """Quadratic (Sow et al. 2025): f(h) = 1 - h^2 / delta^2, favours medium losses.

    Both the easiest (lowest loss) and the hardest (highest loss, possibly noisy) samples of
    the batch are down-weighted. Our choices: see :class:`SowScheme`.

    Example:
        >>> Quadratic(delta=2.0).params()
        {'delta': 2.0, 'r': 1.0, 'burn_in': 0.0}
    """

    paper: ClassVar[str] = _PAPER_SOW
    formula: ClassVar[str] = _STEPS + r"f(h) = 1 - h^2 / \delta^2"
    delta: float = _delta("quadratic divides by delta^2, which must be a normal float32")

    def strategy(self, h: torch.Tensor) -> torch.Tensor:
        return 1 - h**2 / self.delta**2


@SCHEMES.register("extremes")
@dataclass(frozen=True)
class Extremes(SowScheme):
    """Extremes (Sow et al. 2025): f(h) = |h|, favours the lowest and the highest losses.

    The opposite of Quadratic: samples at either end of the batch's loss range get the most
    weight. Our choices: see :class:`SowScheme`.

    Example:
        >>> Extremes(burn_in=0.1).params()
        {'delta': 1.0, 'r': 1.0, 'burn_in': 0.1}
    """

    paper: ClassVar[str] = _PAPER_SOW
    formula: ClassVar[str] = _STEPS + r"f(h) = |h|"
    delta: float = _delta("extremes scales |h| by delta in float32" + _SHARED)

    def strategy(self, h: torch.Tensor) -> torch.Tensor:
        return h.abs()


@SCHEMES.register("kl_dro")
@dataclass(frozen=True)
class KLDRO(Scheme):
    """KL-regularised instance DRO (IR-DRO): w = B softmax(l / lam) over the batch.

    The closed-form worst case of max_w sum_i w_i l_i - lam KL(w || uniform): higher loss,
    exponentially more weight; lam -> inf is uniform, lam -> 0 puts all weight on the
    largest loss. Unlike the Sow et al. schemes the raw losses are used, so the weights
    depend on the loss scale. Our choices: default lam = 1, no clipping; the batch maximum
    is subtracted before dividing by lam, so the weights stay finite for any finite loss
    and any lam in [1.2e-38, 3.4e38] (the float32 range; other values are rejected); a
    batch with a non-finite loss gets uniform weights.

    Example:
        >>> KLDRO(lam=0.5).params()
        {'lam': 0.5}
    """

    normalisation: ClassVar[str] = "per-batch"
    paper: ClassVar[str] = ("Zhang et al., Doubly Robust Instance-Reweighted Adversarial "
                            "Training, 2023; Take the Bull by the Horns (IR-DRO), 2024")
    formula: ClassVar[str] = r"w_i = B\,\frac{e^{l_i/\lambda}}{\sum_j e^{l_j/\lambda}}"
    lam: float = param(1.0, low=0, closed="neither", log=True, typical=(0.05, 5.0, 0.05),
                       float32=(TINY, HUGE, "the weights divide by lam"),
                       help="Temperature lambda > 0 of w = B softmax(l / lambda): large lambda "
                            "is uniform, small lambda puts all weight on the largest loss.")

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        losses = losses.detach()
        if not torch.isfinite(losses).all():
            return torch.ones_like(losses)
        # (l - max l) / lam <= 0: no overflow for small lam (l / lam first would be inf)
        return normalise(torch.softmax((losses - losses.max()) / self.lam, dim=0))
