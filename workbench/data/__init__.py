"""Data sets and imbalance transforms; importing this module registers them all."""

from . import (  # noqa: F401  (registration)
    adult,
    arrays,
    cifar,
    covariate,
    csv_data,
    digits,
    features,
    gaussian,
    mnist1d,
    spurious,
    synthetic,
    tabular_fairness,
    text,
    text_folder,
    transforms,
)
from .base import CLASSIFICATION, DATASETS, REGRESSION, TRANSFORMS, DatasetBundle, Split
from .prepare import load_prepared, points_frame

__all__ = ["CLASSIFICATION", "DATASETS", "REGRESSION", "TRANSFORMS", "DatasetBundle", "Split",
           "load_prepared", "points_frame"]
