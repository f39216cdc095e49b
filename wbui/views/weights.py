"""Weights: what each scheme did to the per-sample and per-group weights, over training.

Why several views of one thing: a static scheme gives flat bands per group, a dynamic one
moves samples as they are learned, a sampler leaves the weights at 1 and changes the batch
instead. Trajectories show single samples, the group view the average with seed bands,
the scatter and histogram one epoch, and the effective sample size how concentrated the
weights are (ESS = (Σw)² / Σw², as a fraction of the batch).
"""

from __future__ import annotations

import streamlit as st

from workbench.figures import (
    ess_over_steps,
    group_weight_over_steps,
    weight_histogram,
    weight_loss_scatter,
    weight_trajectories,
)

from .common import chart, need_results
from .controls import epoch_slider, smoothing


def show(results, experiment) -> None:
    st.subheader("Weights")
    if not need_results(results):
        return
    weights, history = results.frame("weights"), results.frame("history")
    levels = ["group", "class"] if results.task == "classification" else ["group"]
    _trajectories(weights, levels)
    st.markdown("#### Per-group weight over steps")
    left, right = st.columns(2)
    with left:
        level = st.radio("Level", levels, horizontal=True, key="weights_level",
                         help="Mean weight of each group (or class) in every training batch.")
    with right:
        window = smoothing(history, "weights_smooth")
    chart(group_weight_over_steps(history, level=level, metric="weight", smooth=window),
          "weights_groups")
    samplers = [s for s, mode in results.modes.items() if mode == "sample"]
    if samplers:
        st.markdown("#### Batch composition (sampling schemes)")
        st.caption(f"{', '.join(samplers)} change *what is drawn*, not the loss weights "
                   "(which stay 1): the share of each group in the batch is their effect. "
                   "Under full-batch gradient descent sampling with q equals weighting with "
                   "w = qN/n (Li et al., NAACL 2025); with SGD they differ.")
        shown = [s for s in results.modes if s in samplers or s == "uniform"]
        hist = history[history["scheme"].isin(shown)]
        chart(group_weight_over_steps(hist, level=level, metric="share", smooth=window),
              "weights_share")
    _one_epoch(weights)
    st.markdown("#### Effective sample size")
    st.caption("ESS = (Σw)² / Σw² over the batch, as a fraction of the batch size: 1 means "
               "uniform weights, small values mean a few samples carry the batch (smoothed "
               "with the window chosen above).")
    chart(ess_over_steps(history, smooth=window), "weights_ess")


@st.fragment
def _trajectories(weights, levels) -> None:
    st.markdown("#### Per-sample weight trajectories")
    color_by = st.radio("Colour by", levels, horizontal=True, key="weights_color_by",
                        help="Colour the tracked samples by their group or their class.")
    chart(weight_trajectories(weights, color_by=color_by, max_samples=40), "weights_traj")


@st.fragment
def _one_epoch(weights) -> None:
    st.markdown("#### One epoch: weight against loss, and the weight distribution")
    epoch = epoch_slider(weights, "weights_epoch")
    chart(weight_loss_scatter(weights, epoch), "weights_scatter")  # full width: facets
    chart(weight_histogram(weights, epoch), "weights_hist")
