"""One module per dashboard tab; each has ``show(results, experiment)``.

Views only arrange figures and tables: the numbers come from ``workbench`` (the run store,
``Comparison.table``, ``workbench.metrics``) and the figures from ``workbench.figures``,
so the notebook and the dashboard always agree. ``results`` is ``None`` until a
comparison has been loaded; views that need one then say so.
"""

from . import calibration, data, groups, learn, overview, runs, samples, weights, whatif

TABS = {"Overview": overview, "Weights": weights, "Samples": samples, "Groups": groups,
        "Calibration": calibration, "Data": data, "What-if": whatif, "Runs": runs,
        "Learn": learn}

__all__ = ["TABS", "calibration", "data", "groups", "learn", "overview", "runs", "samples",
           "weights", "whatif"]
