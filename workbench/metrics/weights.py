"""Diagnostics of a loss-weight vector.

Why: a reweighting scheme that puts all its mass on a few samples trains on a tiny
effective data set, whatever the batch size says (DoReMi and DRO weights collapsing are a
known failure: DoReMi issue 5). Kish's effective sample size (Kish, "Survey
Sampling", 1965), the max/min ratio and the weight entropy show this at every step.

The functions are tensor-in, tensor-out (0-d, same device and floating dtype), built only
from reductions and ``torch.where``: no ``.item()``, no Python branching on values, no
loops, so the training engine can log them every step without a host-device sync. numpy
arrays (and lists) are accepted too and give CPU float64 tensors. Values are not checked
(that would sync): weights are assumed finite and >= 0; all-zero weights give NaN ESS and
entropy.

Example:
    >>> import torch
    >>> d = weight_diagnostics(torch.tensor([1.0, 1.0, 1.0, 1.0]))
    >>> float(d["ess"]), float(d["max_min_ratio"]), round(float(d["entropy"]), 4)
    (1.0, 1.0, 1.3863)
"""

from __future__ import annotations

import torch

__all__ = ["diagnostics_from_sums", "effective_sample_size", "max_min_ratio",
           "weight_diagnostics", "weight_entropy", "weight_sums"]


def _as_tensor(w) -> torch.Tensor:
    if not isinstance(w, torch.Tensor):
        w = torch.as_tensor(w, dtype=torch.float64)
    w = w.detach()
    if not w.is_floating_point():
        w = w.to(torch.get_default_dtype())
    if w.ndim != 1:
        raise ValueError(f"weights must be a 1-D vector (n,), got shape {tuple(w.shape)}")
    if w.shape[0] == 0:
        raise ValueError("weights is empty: diagnostics need at least one weight")
    return w


def weight_sums(w: torch.Tensor) -> torch.Tensor:
    """(..., 6) sums along the last axis: n, sum w, sum w^2, sum w log w, min w, max w.

    What ``diagnostics_from_sums`` needs; the training recorder keeps these per step and
    replica (one reduction per step) and forms the diagnostics only when read.
    """
    lo, hi = torch.aminmax(w, dim=-1)
    n = torch.full_like(lo, w.shape[-1])
    return torch.stack([n, w.sum(-1), (w * w).sum(-1), torch.special.xlogy(w, w).sum(-1),
                        lo, hi], -1)


def diagnostics_from_sums(sums: torch.Tensor) -> dict[str, torch.Tensor]:
    """ESS, max/min ratio and entropy from ``weight_sums`` (any leading shape).

    The one place these formulas live (the recorder and the functions here use it):
    Kish ESS (sum w)^2 / (n sum w^2); max/min, +inf when the smallest weight is 0; entropy
    of p = w / sum w, written log(sum w) - sum(w log w) / sum w (= -sum p log p), at least 0.
    """
    n, s1, s2, wlogw, lo, hi = sums.unbind(-1)
    ratio = torch.where(lo > 0, hi / torch.where(lo > 0, lo, torch.ones_like(lo)),
                        torch.full_like(hi, float("inf")))
    entropy = (torch.log(s1) - wlogw / s1).clamp_min(0.0)
    return {"ess": s1 * s1 / s2 / n, "max_min_ratio": ratio, "entropy": entropy}


def effective_sample_size(w) -> torch.Tensor:
    """Kish ESS as a fraction of n: (sum w)^2 / (n sum w^2), in (0, 1].

    1 for uniform weights, 1/n when one weight carries all the mass.

    Example:
        >>> float(effective_sample_size(torch.tensor([1.0, 0.0, 0.0, 0.0])))
        0.25
    """
    return weight_diagnostics(w)["ess"]


def max_min_ratio(w) -> torch.Tensor:
    """max(w) / min(w); +inf when the smallest weight is 0.

    Example:
        >>> float(max_min_ratio(torch.tensor([0.5, 2.0])))
        4.0
    """
    return weight_diagnostics(w)["max_min_ratio"]


def weight_entropy(w) -> torch.Tensor:
    """Shannon entropy -sum p log p (nats) of p = w / sum w; maximum log n at uniform.

    Example:
        >>> float(weight_entropy(torch.tensor([0.0, 3.0])))
        0.0
    """
    return weight_diagnostics(w)["entropy"]


def weight_diagnostics(w) -> dict[str, torch.Tensor]:
    """All three diagnostics: {"ess", "max_min_ratio", "entropy"} as 0-d tensors."""
    return diagnostics_from_sums(weight_sums(_as_tensor(w)))
