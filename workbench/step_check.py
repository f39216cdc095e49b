"""Telling a diverged run from a broken scheme, once per training step.

Why: a non-finite objective has two causes that need different answers. Training can
diverge (a learning rate too large sends the model's losses to inf/NaN): the run stops and
is stored as ``diverged`` at that step, a result in its own right. A scheme can also turn
finite losses into non-finite *weights* (0 / 0, an overflow): that is a fault of the
scheme, not of the optimiser, and calling it divergence would blame the wrong thing. It
is raised as a ``SchemeError`` naming the scheme, its parameters and the step.

The engine reads one boolean per step (``step_ok``: objective finite and every weight
finite); only when it is false does ``check_weights`` look at the losses to decide.

Example:
    >>> import torch
    >>> from workbench.schemes import SCHEMES
    >>> losses, w = torch.tensor([1.0, 2.0]), torch.tensor([float("nan"), 1.0])
    >>> bool(step_ok((w * losses).mean(), w))
    False
    >>> check_weights(SCHEMES.create("uniform"), losses, w, step=7)
    Traceback (most recent call last):
    ...
    workbench.step_check.SchemeError: scheme 'uniform' produced non-finite weights at step 7 \
from finite losses (parameters {})
"""

from __future__ import annotations

import torch

__all__ = ["SchemeError", "check_weights", "step_ok"]


class SchemeError(RuntimeError):
    """A weighting scheme broke its contract: finite losses must give finite weights."""


def step_ok(objective: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Boolean tensor (one per replica for (R,) objectives and (R, B) weights): the
    objective is finite and so is every weight of its batch."""
    return torch.isfinite(objective) & torch.isfinite(w).all(-1)


def check_weights(scheme, losses: torch.Tensor, w: torch.Tensor, step: int) -> None:
    """Called when ``step_ok`` is false. Raise ``SchemeError`` when the losses are finite but
    the weights are not; return otherwise (non-finite losses, or an objective that
    overflowed from finite parts: training diverged)."""
    if bool(torch.isfinite(losses).all()) and not bool(torch.isfinite(w).all()):
        raise SchemeError(f"scheme {scheme.name!r} produced non-finite weights at step {step} "
                          f"from finite losses (parameters {scheme.params()})")
