"""Weighting schemes (REFERENCE.md sections 1-4); importing this module registers them."""

from . import focal, group_dro, loss_based, sampling, static  # noqa: F401  (registration)
from .base import SCHEMES, Batch, Scheme, State, TrainInfo, normalise, per_sample_loss

__all__ = ["SCHEMES", "Batch", "Scheme", "State", "TrainInfo", "normalise", "per_sample_loss"]
