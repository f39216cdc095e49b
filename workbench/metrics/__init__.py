"""Metrics, defined once for the trainer, the app and the tests.

* ``classification``: accuracy (plain test mean), balanced accuracy, macro F1, per-class /
  per-group / worst-group accuracy, group gap, demographic parity and equalized odds.
* ``calibration``: ECE / MCE / adaptive and classwise ECE, reliability bins, Brier, NLL,
  temperature scaling.
* ``weights``: effective sample size, max/min ratio and entropy of a weight vector, as
  device tensors (no host sync).
* ``frames``: tidy per-group tables and the run summaries.
* ``catalog``: the metric table (direction, range, format of every key; ``lookup``).

Inputs are numpy arrays, torch tensors or lists; all functions are pure.

Example:
    >>> import workbench as wb
    >>> p, y = [0.25, 0.25, 0.55, 0.75, 0.75], [0, 0, 1, 1, 1]
    >>> round(wb.metrics.expected_calibration_error(p, y, n_bins=2, norm="max"), 4)
    0.3167
"""

from .calibration import (
    apply_temperature,
    brier_score,
    classwise_ece,
    expected_calibration_error,
    fit_temperature,
    maximum_calibration_error,
    nll,
    reliability_bins,
)
from .classification import (
    accuracy,
    balanced_accuracy,
    demographic_parity_difference,
    equalized_odds_difference,
    group_gap,
    macro_f1,
    per_class_accuracy,
    per_group_accuracy,
    worst_class_accuracy,
    worst_group_accuracy,
)
from .frames import by_group, classification_summary, regression_summary
from .weights import effective_sample_size, max_min_ratio, weight_diagnostics, weight_entropy

__all__ = [
    "accuracy",
    "apply_temperature",
    "balanced_accuracy",
    "brier_score",
    "by_group",
    "classification_summary",
    "classwise_ece",
    "demographic_parity_difference",
    "effective_sample_size",
    "equalized_odds_difference",
    "expected_calibration_error",
    "fit_temperature",
    "group_gap",
    "macro_f1",
    "max_min_ratio",
    "maximum_calibration_error",
    "nll",
    "per_class_accuracy",
    "per_group_accuracy",
    "reliability_bins",
    "regression_summary",
    "weight_diagnostics",
    "weight_entropy",
    "worst_class_accuracy",
    "worst_group_accuracy",
]

from . import catalog  # noqa: E402
from .posthoc import calibration_table, temperature_scaled  # noqa: E402

__all__ += ["calibration_table", "catalog", "temperature_scaled"]
