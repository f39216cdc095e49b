"""Weighting schemes; importing this module registers them."""

from . import (  # noqa: F401  (registration)
    adjusted,
    doremi,
    drw,
    fairness,
    focal,
    group_dro,
    importance,
    jtt,
    loss_based,
    pruning,
    robust,
    sampling,
    softdedup,
    static,
    subsets,
)
from .base import SCHEMES, Batch, Scheme, State, TrainInfo, normalise, per_sample_loss

__all__ = ["SCHEMES", "Batch", "Scheme", "State", "TrainInfo", "normalise", "per_sample_loss"]
