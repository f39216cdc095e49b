"""The overview of a comparison: final metrics per scheme with their 95% intervals.

Why: a scheme "wins" only if its interval over seeds clears the others' (REFERENCE.md
section 6: undefined error bars are a known pitfall), so the dots always carry the
t-interval from ``Comparison.table`` and the text table says "mean ± half-width".

Example:
    >>> import pandas as pd
    >>> table = pd.DataFrame({"scheme": ["uniform", "linupper"], "metric": ["ece", "ece"],
    ...                       "mean": [0.12, 0.08], "std": [0.01, 0.02],
    ...                       "ci_low": [0.10, 0.05], "ci_high": [0.14, 0.11], "n": [3, 3]})
    >>> best_schemes(table)
    {'ece': 'linupper'}
    >>> summary_wide(table).loc["uniform", "ece"]
    '0.120 ± 0.020'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import apply_layout, empty_figure, is_empty, scheme_colors, scheme_order

DEFAULT_METRICS = ("accuracy", "balanced_accuracy", "worst_group_accuracy", "ece")
LOWER_IS_BETTER = frozenset({"ece", "mce", "brier", "nll", "mse", "worst_group_mse",
                             "group_gap", "ece_ts", "nll_ts", "loss",
                             "demographic_parity_difference", "equalized_odds_difference"})
TABLE_COLUMNS = ("scheme", "metric", "mean", "ci_low", "ci_high", "n")


def higher_is_better(metric: str) -> bool:
    """Direction of a metric: False for errors, losses, calibration errors and gaps."""
    return metric not in LOWER_IS_BETTER


def metric_dots(table: pd.DataFrame, metrics: Sequence[str] = DEFAULT_METRICS) -> go.Figure:
    """One subplot per metric: a dot per scheme at the mean over seeds, bars = 95% CI.

    Why: the first question after a comparison is "which scheme is better, and is the
    difference bigger than the seed noise?". Metrics missing from the table are skipped;
    if none of ``metrics`` is there (a regression comparison has mse and worst_group_mse
    instead) the table's own metrics are shown. With one seed there is no interval (n = 1),
    so only the dot is drawn. Subplot titles carry the direction (↑ higher is better).

    Example:
        >>> import workbench as wb
        >>> cmp = wb.compare(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear"),
        ...                  schemes=["uniform", "inverse_frequency"], seeds=[0, 1])
        >>> fig = metric_dots(cmp.table)
        >>> len(fig.data)  # 4 metrics x 2 schemes
        8
    """
    title = "Final test metrics: mean over seeds, bars = 95% t-interval"
    if is_empty(table, TABLE_COLUMNS):
        return empty_figure("no data: the comparison has no finished runs", title)
    present = list(dict.fromkeys(table["metric"].astype(str)))
    shown = [m for m in metrics if m in present] or present[:6]
    schemes = scheme_order(table["scheme"])
    colors = scheme_colors(schemes)
    titles = [f"{m} {'↑' if higher_is_better(m) else '↓'}" for m in shown]
    fig = make_subplots(rows=1, cols=len(shown), subplot_titles=titles,
                        horizontal_spacing=min(0.08, 0.4 / len(shown)))
    for j, metric in enumerate(shown, start=1):
        rows = table[table["metric"] == metric].set_index("scheme")
        for scheme in schemes:
            if scheme not in rows.index or pd.isna(rows.loc[scheme, "mean"]):
                continue
            r = rows.loc[scheme]
            mean, lo, hi, n = (float(r["mean"]), float(r["ci_low"]), float(r["ci_high"]),
                               int(r["n"]))
            has_ci = bool(np.isfinite(lo) and np.isfinite(hi))
            ci = f"<br>95% CI [{lo:.4f}, {hi:.4f}]" if has_ci else "<br>no interval"
            fig.add_trace(go.Scatter(
                x=[scheme], y=[mean], mode="markers",
                marker=dict(size=11, color=colors[scheme]), name=scheme, legendgroup=scheme,
                showlegend=j == 1,
                error_y=dict(type="data", symmetric=False, visible=has_ci, thickness=2, width=6,
                             array=[hi - mean if has_ci else 0.0],
                             arrayminus=[mean - lo if has_ci else 0.0]),
                hovertemplate=(f"<b>{scheme}</b><br>{metric} = {mean:.4f}{ci} (n = {n})"
                               "<extra></extra>"),
            ), row=1, col=j)
        fig.update_xaxes(showticklabels=False, title_text="scheme", row=1, col=j)
    fig.update_yaxes(title_text="value", row=1, col=1)
    apply_layout(fig, title, height=420)
    return fig


def summary_wide(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Schemes as rows, metrics as columns, cells "0.812 ± 0.013" (95% CI half-width).

    Why: the compact, copy-pasteable version of :func:`metric_dots` for the app's table and
    for papers. With one seed (n = 1) there is no interval and the cell is just the mean;
    a missing value is an empty string. The index is named ``scheme``.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"scheme": ["uniform"], "metric": ["accuracy"], "mean": [0.8123],
        ...                   "std": [float("nan")], "ci_low": [float("nan")],
        ...                   "ci_high": [float("nan")], "n": [1]})
        >>> summary_wide(t).to_dict()
        {'accuracy': {'uniform': '0.812'}}
    """
    if is_empty(table, TABLE_COLUMNS):
        return pd.DataFrame(index=pd.Index([], name="scheme"))
    schemes = scheme_order(table["scheme"])
    metrics = list(dict.fromkeys(table["metric"].astype(str)))
    out = pd.DataFrame("", index=pd.Index(schemes, name="scheme"), columns=metrics, dtype=object)
    for row in table.itertuples(index=False):
        mean = float(row.mean)
        if not np.isfinite(mean):
            continue
        half = (float(row.ci_high) - float(row.ci_low)) / 2
        cell = f"{mean:.{digits}f}"
        if int(row.n) > 1 and np.isfinite(half):
            cell += f" ± {half:.{digits}f}"
        out.loc[str(row.scheme), str(row.metric)] = cell
    return out


def best_schemes(table: pd.DataFrame) -> dict[str, str]:
    """The scheme with the best mean for every metric (lower is better for errors).

    Why: the app highlights the winner per column; the direction lives here, once
    (``LOWER_IS_BETTER``: ece, mce, brier, nll, mse, worst_group_mse, group_gap, ...).
    Ties go to the scheme listed first; metrics without any finite mean are left out.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"scheme": ["a", "b"], "metric": ["accuracy"] * 2,
        ...                   "mean": [0.7, 0.9], "ci_low": [0.6, 0.8], "ci_high": [0.8, 1.0],
        ...                   "n": [2, 2]})
        >>> best_schemes(t)
        {'accuracy': 'b'}
    """
    if is_empty(table, ("scheme", "metric", "mean")):
        return {}
    out = {}
    for metric, rows in table.groupby("metric", sort=False):
        rows = rows[np.isfinite(rows["mean"].to_numpy(dtype=float))]
        if rows.empty:
            continue
        values = rows["mean"].to_numpy(dtype=float)
        k = int(np.argmax(values) if higher_is_better(str(metric)) else np.argmin(values))
        out[str(metric)] = str(rows["scheme"].iloc[k])
    return out
