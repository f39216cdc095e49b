"""Data sets and imbalance transforms; importing this module registers them all."""

from . import adult, digits, synthetic, transforms  # noqa: F401  (registration)
from .base import CLASSIFICATION, DATASETS, REGRESSION, TRANSFORMS, DatasetBundle, Split
from .prepare import load_prepared, points_frame

__all__ = ["CLASSIFICATION", "DATASETS", "REGRESSION", "TRANSFORMS", "DatasetBundle", "Split",
           "load_prepared", "points_frame"]
