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

__all__ = ["effective_sample_size", "max_min_ratio", "weight_diagnostics", "weight_entropy"]


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


def effective_sample_size(w) -> torch.Tensor:
    """Kish ESS as a fraction of n: (sum w)^2 / (n sum w^2), in (0, 1].

    1 for uniform weights, 1/n when one weight carries all the mass.

    Example:
        >>> float(effective_sample_size(torch.tensor([1.0, 0.0, 0.0, 0.0])))
        0.25
    """
    w = _as_tensor(w)
    return w.sum() ** 2 / (w * w).sum() / w.shape[0]


def max_min_ratio(w) -> torch.Tensor:
    """max(w) / min(w); +inf when the smallest weight is 0.

    Example:
        >>> float(max_min_ratio(torch.tensor([0.5, 2.0])))
        4.0
    """
    w = _as_tensor(w)
    lo, hi = w.min(), w.max()
    inf = torch.full_like(hi, float("inf"))
    return torch.where(lo > 0, hi / torch.where(lo > 0, lo, torch.ones_like(lo)), inf)


def weight_entropy(w) -> torch.Tensor:
    """Shannon entropy -sum p log p (nats) of p = w / sum w; maximum log n at uniform.

    Example:
        >>> float(weight_entropy(torch.tensor([0.0, 3.0])))
        0.0
    """
    w = _as_tensor(w)
    p = w / w.sum()
    return 0.0 - torch.special.xlogy(p, p).sum()  # "0.0 -": no -0.0 at a one-hot vector


def weight_diagnostics(w) -> dict[str, torch.Tensor]:
    """All three diagnostics: {"ess", "max_min_ratio", "entropy"} as 0-d tensors."""
    w = _as_tensor(w)
    return {"ess": effective_sample_size(w), "max_min_ratio": max_min_ratio(w),
            "entropy": weight_entropy(w)}
