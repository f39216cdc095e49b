"""The overview of a comparison: final metrics per scheme with their 95% intervals.

Why: a scheme "wins" only if its interval over seeds clears the others' (undefined
error bars are a known pitfall: DomainBed issues 22, 69, 103), so the dots always carry the
t-interval from ``Comparison.table``, the text table says "mean ± half-width", and
:func:`separation` names a best scheme only when its interval does not overlap any other
scheme's; otherwise it says the schemes are not separated. Directions come from the metric
table (``workbench.metrics.catalog``), never from a list kept here.

Example:
    >>> import pandas as pd
    >>> table = pd.DataFrame({"scheme": ["uniform", "linupper"], "metric": ["ece", "ece"],
    ...                       "mean": [0.12, 0.08], "std": [0.01, 0.02],
    ...                       "ci_low": [0.10, 0.05], "ci_high": [0.14, 0.11], "n": [3, 3]})
    >>> best_schemes(table)  # the intervals [0.10, 0.14] and [0.05, 0.11] overlap
    {}
    >>> separation(table)[["best", "verdict", "overlaps"]].values.tolist()
    [['linupper', 'not separated', 'uniform']]
    >>> summary_wide(table).loc["uniform", "ece"]
    '0.120 ± 0.020'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..metrics.catalog import arrow, higher_is_better
from .style import apply_layout, empty_figure, is_empty, scheme_colors, scheme_order

__all__ = ["best_schemes", "higher_is_better", "metric_dots", "separation", "summary_wide"]

DEFAULT_METRICS = ("accuracy", "balanced_accuracy", "worst_group_accuracy", "ece")
TABLE_COLUMNS = ("scheme", "metric", "mean", "ci_low", "ci_high", "n")
VERDICT_ROW = "best (95% CIs apart)"
TIE = 1e-9  # relative: means this close are a tie (float noise of equal models)


def metric_dots(table: pd.DataFrame, metrics: Sequence[str] = DEFAULT_METRICS) -> go.Figure:
    """One subplot per metric: a dot per scheme at the mean over seeds, bars = 95% CI.

    Why: the first question after a comparison is "which scheme is better, and is the
    difference bigger than the seed noise?". Metrics missing from the table are skipped;
    if none of ``metrics`` is there (a regression comparison has mse and worst_group_mse
    instead) the table's own metrics are shown. With one seed there is no interval (n = 1),
    so only the dot is drawn. Subplot titles carry the direction from the metric table
    (↑ higher is better, ↓ lower is better, none for a diagnostic).

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
    titles = [f"{m} {arrow(m)}".strip() for m in shown]
    cols = min(len(shown), 2)  # two per row: the titles and ticks stay apart at 1024 px
    n_rows = -(-len(shown) // cols)
    fig = make_subplots(rows=n_rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.12,
                        vertical_spacing=0.3 / n_rows if n_rows > 1 else 0.1)
    for j, metric in enumerate(shown, start=1):
        where = dict(row=(j - 1) // cols + 1, col=(j - 1) % cols + 1)
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
            ), **where)
        fig.update_xaxes(showticklabels=False, **where)
        if where["row"] == n_rows:
            fig.update_xaxes(title_text="scheme (colour)", **where)
        if where["col"] == 1:
            fig.update_yaxes(title_text="value", **where)
    apply_layout(fig, title, height=120 + 260 * n_rows)
    return fig


def summary_wide(table: pd.DataFrame, digits: int = 3, verdict: bool = False) -> pd.DataFrame:
    """Schemes as rows, metrics as columns, cells "0.812 ± 0.013" (95% CI half-width).

    Why: the compact, copy-pasteable version of :func:`metric_dots` for the app's table and
    for papers. With one seed (n = 1) there is no interval and the cell is just the mean;
    a missing value is an empty string. An interval cut at the metric's range (``clipped``,
    see ``compare.interval_table``) is not symmetric and is written "0.010 [0.000, 0.031]".
    ``verdict=True`` adds a last row, ``VERDICT_ROW``, with :func:`separation`'s verdict per
    metric (the best scheme, or "not separated"). The index is named ``scheme``.

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
        lo, hi = float(row.ci_low), float(row.ci_high)
        cell = f"{mean:.{digits}f}"
        if int(row.n) > 1 and np.isfinite(lo) and np.isfinite(hi):
            if bool(getattr(row, "clipped", False)):
                cell += f" [{lo:.{digits}f}, {hi:.{digits}f}]"
            else:
                cell += f" ± {(hi - lo) / 2:.{digits}f}"
        out.loc[str(row.scheme), str(row.metric)] = cell
    if verdict:
        v = separation(table).set_index("metric")["verdict"]
        out.loc[VERDICT_ROW] = [v.get(m, "") for m in metrics]
    return out


def separation(table: pd.DataFrame) -> pd.DataFrame:
    """Per metric: the best mean, and whether its 95% interval clears every other scheme's.

    Why: the Overview highlights a winner only where the seeds support it. The best scheme
    (highest mean, or lowest for a lower-is-better metric; the first listed on a tie) is
    *separated* when its interval does not overlap the interval of any other scheme (for
    higher is better: its ci_low > every other ci_high). Without intervals (n = 1), with
    one scheme, with tied means, or for a metric without a direction (a diagnostic) nothing
    is separated, and ``verdict`` says why: the best scheme's name when separated, else
    "not separated" (``overlaps`` lists the schemes whose intervals overlap the best's),
    "tie", "no interval (n = 1)", "one scheme" or "not ranked". Columns: metric, best,
    runner_up, separated, verdict, overlaps (metrics without a finite mean are left out).

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"scheme": ["a", "b"], "metric": ["perplexity"] * 2,
        ...                   "mean": [9.546, 9.416], "ci_low": [9.50, 9.38],
        ...                   "ci_high": [9.59, 9.45], "n": [3, 3]})
        >>> separation(t)[["best", "separated", "verdict"]].values.tolist()
        [['b', True, 'b']]
    """
    columns = ["metric", "best", "runner_up", "separated", "verdict", "overlaps"]
    if is_empty(table, ("scheme", "metric", "mean")):
        return pd.DataFrame(columns=columns)
    out = []
    for metric, rows in table.groupby("metric", sort=False):
        rows = rows[np.isfinite(rows["mean"].to_numpy(dtype=float))]
        if rows.empty:
            continue
        higher = higher_is_better(str(metric))
        if higher is None:
            out.append([metric, None, None, False, "not ranked", ""])
            continue
        rows = rows.sort_values("mean", ascending=not higher, kind="stable")
        best, rest = rows.iloc[0], rows.iloc[1:]
        runner = str(rest["scheme"].iloc[0]) if len(rest) else None
        lo, hi = (rows[c].to_numpy(dtype=float) if c in rows else np.full(len(rows), np.nan)
                  for c in ("ci_low", "ci_high"))
        overlap: list[str] = []
        separated = False
        first, second = float(best["mean"]), float(rest["mean"].iloc[0]) if runner else 0.0
        if runner is None:
            verdict = "one scheme"
        elif abs(first - second) <= TIE * max(1.0, abs(first)):
            verdict = "tie"
        elif not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            verdict = "no interval (n = 1)"
        else:
            clear = lo[0] > hi[1:] if higher else hi[0] < lo[1:]
            overlap = list(rest["scheme"].astype(str)[~clear])
            separated = not overlap
            verdict = str(best["scheme"]) if separated else "not separated"
        out.append([metric, str(best["scheme"]), runner, separated, verdict, ", ".join(overlap)])
    return pd.DataFrame(out, columns=columns)


def best_schemes(table: pd.DataFrame) -> dict[str, str]:
    """{metric: scheme} for the metrics where :func:`separation` finds a separated best.

    Why: the app highlights the winner per column, and only a winner the seeds support
    (its 95% interval clears every other scheme's); the direction comes from the metric
    table. Metrics whose best is not separated are left out.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"scheme": ["a", "b"], "metric": ["accuracy"] * 2,
        ...                   "mean": [0.7, 0.9], "ci_low": [0.6, 0.8], "ci_high": [0.75, 1.0],
        ...                   "n": [2, 2]})
        >>> best_schemes(t)
        {'accuracy': 'b'}
    """
    sep = separation(table)
    return {str(r.metric): str(r.best) for r in sep.itertuples(index=False) if r.separated}
