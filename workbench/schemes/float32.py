"""Hyper-parameter values that float32 training can represent, checked before a run.

Why: the engine trains in float32 (largest value 3.4e38, smallest normal 1.2e-38). A
hyper-parameter outside that range does not fail where it is used: it becomes 0 or inf
inside a weight formula, and the scheme quietly turns into something else. CVaR with
alpha = 1e-40 gave uniform weights (1/alpha = inf, and inf weights are reset to uniform);
a DoReMi eta of 1e39 froze the domain weights. Each scheme states, for each such
parameter, the range its float32 arithmetic supports, and rejects a value outside it
with that range in the message (the basic domain checks, such as alpha in (0, 1], come
first and keep their messages). Schemes declare it with the field:
``param(0.2, low=0, high=1, closed="right", float32=(TINY, 1.0, "1/alpha overflows float32"))``.

Example:
    >>> check_float32("cvar", "alpha", 1e-40, TINY, 1.0, "1/alpha overflows float32")
    ... # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: cvar alpha = 1e-40 is outside what float32 training can represent \
(1/alpha overflows float32); allowed: [1.18e-38, 1]
"""

from __future__ import annotations

import torch

from ..params import ConfigError

__all__ = ["HUGE", "TINY", "check_float32"]

HUGE = float(torch.finfo(torch.float32).max)  # 3.4028e38
TINY = float(torch.finfo(torch.float32).tiny)  # 1.1755e-38, the smallest normal float32


def check_float32(scheme: str, field: str, value: float, low: float, high: float,
                  why: str) -> None:
    """Raise ConfigError unless ``low <= value <= high`` (``why``: what breaks outside).

    Call it after the domain check, so ``value`` is already a number. Declared parameters
    get this check from ``param(..., float32=(low, high, why))``."""
    if not low <= value <= high:
        raise ConfigError(f"{scheme} {field} = {value!r} is outside what float32 training can "
                          f"represent ({why}); allowed: [{low:.3g}, {high:.3g}]",
                          f"scheme {scheme}", field)
