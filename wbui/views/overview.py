"""Overview: final test metrics per scheme, mean ± 95% interval over seeds.

Why this layout: a scheme "wins" only if its interval clears the others', so the table
shows "mean ± half-width" with n stated, the dots show the intervals, and the definitions
people trip over (which accuracy, which checkpoint) are written out under the table.
Diverged runs are listed, never silently dropped from the means.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.figures import best_schemes, metric_dots, summary_wide
from workbench.figures.overview import VERDICT_ROW

from .common import chart, describe_config, need_results

BEST_STYLE = "background-color: rgba(46, 160, 67, 0.22); font-weight: 700"
CLASSIFICATION_NOTES = (
    "**accuracy** = plain mean over the test split (every test sample counts once; *not* "
    "re-weighted by training proportions) · **balanced_accuracy** = mean per-class recall · "
    "**worst_group_accuracy** = minimum over the groups present in the test split · "
    "**group_gap** = best minus worst group accuracy · **ece** = top-label, 15 equal-width "
    "bins, each run's ECE and then the mean over seeds (the number the Calibration tab shows) "
    "· ↑ higher / ↓ lower is better (the metric table, `workbench.metrics.catalog`).")
REGRESSION_NOTES = ("**mse** = mean squared error over the test split · **worst_group_mse** "
                    "= the largest per-group mse · lower is better.")
LM_NOTES = ("**perplexity** = exp of the mean token loss over the test split (≥ 1) · "
            "**worst_group_perplexity** = the largest per-domain perplexity · "
            "**perplexity:<domain>** = one domain's · **loss** = mean token cross-entropy · "
            "lower is better.")
NOTES = {"regression": REGRESSION_NOTES, "lm": LM_NOTES}


def show(results, experiment) -> None:
    st.subheader("Overview")
    if not need_results(results):
        return
    note = st.session_state.get("note")
    if note:
        (st.warning if st.session_state.get("note_is_warning") else st.caption)(note)
    cfg, table = results.config, results.table
    st.markdown(describe_config(cfg))
    n = sorted(set(table["n"].astype(int))) if len(table) else [0]
    seeds = f"{n[0]}" if len(n) == 1 else f"{n[0]}–{n[-1]}"
    st.markdown(f"**n = {seeds} seeds** per scheme (training seeds; the data split is fixed, "
                f"data seed {cfg.data_seed}) · **selection rule: `{cfg.selection}`** (the "
                "checkpoint every summary reports) · intervals: 95% Student-t, mean ± "
                "t(0.975, n−1)·std/√n.")
    _diverged(results.runs)
    if table.empty:
        st.warning("No run finished, so there is nothing to summarise.")
        return
    # metrics as rows, schemes as columns: eleven metrics never fit side by side at 1024 px
    wide, best = summary_wide(table, verdict=True).T, best_schemes(table)
    wide.index.name = "metric"
    styled = wide.style.apply(lambda row: [BEST_STYLE if best.get(row.name) == s else ""
                                           for s in row.index], axis=1)
    st.table(styled)  # static HTML: cells wrap at narrow widths instead of hiding columns
    st.caption(f"Highlighted: the best mean of a metric, only where its 95% interval does "
               f"not overlap any other scheme's; the column *{VERDICT_ROW}* names it or says "
               "the schemes are not separated. Intervals of bounded metrics are cut at the "
               "metric's range (written [low, high]). "
               + NOTES.get(results.task, CLASSIFICATION_NOTES))
    chart(metric_dots(table), "overview_dots")


def _diverged(runs) -> None:
    """List diverged (and otherwise unfinished) runs with their step and message."""
    bad = runs[runs["status"] != "done"]
    for row in bad.itertuples(index=False):
        where = f" at step {int(row.diverged_step)}" if pd.notna(row.diverged_step) else ""
        st.error(f"**{row.scheme}**, seed {row.seed}: {row.status}{where} — "
                 f"{row.message or 'no message'}. Left out of the means.",
                 icon=":material/warning:")
