"""Plotly figure builders: a tidy DataFrame in, a ``go.Figure`` out, no Streamlit.

Why: the Streamlit app and the notebooks show the same figures, so they are built here
once, from the frames a comparison already has (``Comparison.table`` and
``Comparison.frame("history" | "weights" | "predictions" | "boundary")``, ``run.info``).
Every builder gives each scheme the same colour (``style.scheme_colors``), labels its axes,
and returns a figure that says "no data" (``is_empty_figure``) instead of raising when
its frame is empty.

* overview: ``metric_dots``, ``summary_wide``, ``separation``, ``best_schemes`` (directions
  from the metric table, ``workbench.metrics.catalog``)
* weights: ``weight_trajectories``, ``group_weight_over_steps``, ``weight_loss_scatter``,
  ``weight_histogram``, ``ess_over_steps``
* groups: ``group_curves``
* cartography: ``cartography`` (frame), ``region_table``, ``cartography_map``,
  ``sample_trajectory`` (Swayamdipta et al. 2020, per tracked sample and scheme)
* calibration: ``reliability_diagram``, ``confidence_histogram`` (tables:
  ``calibration_table``, ``temperature_scaled`` from ``workbench.metrics.posthoc``)
* data: ``count_bars``, ``decision_boundaries``
* learn: ``weight_function``, ``scheme_card``

Example:
    >>> import workbench as wb
    >>> from workbench import figures
    >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"),
    ...                  schemes=["uniform", "linupper"], seeds=[0])
    >>> fig = figures.group_curves(cmp.frame("history"))
    >>> figures.is_empty_figure(fig), figures.is_empty_figure(figures.ess_over_steps(None))
    (False, True)
"""

from ..metrics.posthoc import calibration_table, temperature_scaled
from .calibration import confidence_histogram, reliability_diagram
from .cartography import cartography, cartography_map, region_table, sample_trajectory
from .data import count_bars, decision_boundaries
from .groups import group_curves
from .learn import scheme_card, scheme_kind, weight_function
from .overview import best_schemes, higher_is_better, metric_dots, separation, summary_wide
from .style import (
    apply_layout,
    empty_figure,
    group_colors,
    is_empty_figure,
    scheme_colors,
    scheme_order,
)
from .weights import (
    ess_over_steps,
    group_weight_over_steps,
    weight_histogram,
    weight_loss_scatter,
    weight_trajectories,
)

__all__ = [
    "apply_layout",
    "best_schemes",
    "calibration_table",
    "cartography",
    "cartography_map",
    "confidence_histogram",
    "count_bars",
    "decision_boundaries",
    "empty_figure",
    "region_table",
    "sample_trajectory",
    "ess_over_steps",
    "group_colors",
    "group_curves",
    "group_weight_over_steps",
    "higher_is_better",
    "is_empty_figure",
    "metric_dots",
    "reliability_diagram",
    "scheme_card",
    "scheme_colors",
    "scheme_kind",
    "scheme_order",
    "separation",
    "summary_wide",
    "temperature_scaled",
    "weight_function",
    "weight_histogram",
    "weight_loss_scatter",
    "weight_trajectories",
]

from .sweep import sweep_lines  # noqa: E402

__all__ += ["sweep_lines"]
