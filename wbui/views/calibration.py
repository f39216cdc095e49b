"""Calibration: do the schemes change how confident the model is, not just how right?

Why temperature scaling beside the raw diagram: up-weighting rare classes tends to make a
model over-predict them. One temperature per run, fitted on its validation split (Guo et
al., ICML 2017), fixes pure over/under-confidence; what remains after it is a change in
the ranking. The table gives ECE / MCE / Brier / NLL before and after. Regression runs
have no class probabilities, so the view says so instead of drawing empty axes.
"""

from __future__ import annotations

import streamlit as st

from workbench.figures import confidence_histogram, reliability_diagram
from workbench.metrics.posthoc import calibration_table

from .common import chart, need_results


@st.cache_data(show_spinner="Fitting temperatures...", max_entries=32)
def _table(keys: tuple, n_bins: int, _predictions):
    """calibration_table, cached by the comparison's store keys (frames are not hashed)."""
    return calibration_table(_predictions, n_bins=n_bins)


@st.cache_data(show_spinner=False, max_entries=64)
def _diagram(keys: tuple, n_bins: int, by_group: bool, temperature: bool, groups: tuple,
             _predictions):
    return reliability_diagram(_predictions, n_bins=n_bins, by_group=by_group,
                               temperature=temperature, group_names=list(groups) or None)


def show(results, experiment) -> None:
    st.subheader("Calibration")
    if not need_results(results):
        return
    if results.task == "regression":
        st.info("Calibration is not applicable to regression: the model predicts a number, "
                "not class probabilities. See the Overview's mse and the Groups tab.",
                icon=":material/info:")
        return
    preds = results.frame("predictions")
    left, mid, right = st.columns([1.1, 1, 1.4])  # the toggle labels uncut at 1024 px
    n_bins = left.slider("Bins", 5, 30, 15, key="cal_bins",
                         help="Equal-width confidence bins (ECE uses the same bins).")
    by_group = mid.toggle("Per group", key="cal_by_group",
                          help="One row of diagrams per group (small groups are noisy; the "
                          "hover shows each bin's count).")
    scaled = right.toggle("Temperature scaling", value=True, key="cal_temperature",
                          help="Also show the diagram after post-hoc temperature scaling "
                          "(T fitted per run on validation NLL; Guo et al., ICML 2017).")
    groups = tuple(results.info.get("group_names") or ())
    chart(_diagram(results.keys, n_bins, by_group, False, groups, preds), "cal_raw")
    if scaled:  # full width under the raw one: side by side squeezes the facets
        chart(_diagram(results.keys, n_bins, by_group, True, groups, preds), "cal_scaled")
    st.markdown("#### Calibration metrics (test split, mean over seeds)")
    table = _table(results.keys, n_bins, preds)
    # metrics as rows, schemes as columns: it fits at 1024 px for any number of metrics
    shown = table.set_index("scheme").T
    shown.index.name = "metric"
    styled = shown.style.format(precision=4).format(precision=0, subset=(["n"], shown.columns))
    st.table(styled)  # static HTML: every column visible at 1024 px
    st.caption(f"ece/mce: top-label, {n_bins} equal-width bins (a confidence of exactly 1.0 "
               "goes to the last bin), each run's then the **mean over seeds**: the ECE in "
               "the diagrams' titles, and with 15 bins the Overview's · n: seeds · brier: "
               "Σ_c (p_c − onehot_c)² · nll: −log p_y · temperature: T > 1 means the scheme "
               "left the model over-confident · *_ts: after scaling (accuracy is unchanged "
               "by T).")
    chart(confidence_histogram(preds), "cal_hist")
