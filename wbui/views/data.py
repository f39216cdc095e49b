"""Data: the imbalance the runs trained under, and (2-D data) the decision regions.

Why: every metric is relative to the data a scheme saw. The counts show the training
split before and after the transforms next to the untouched test split; on ``blobs2d``
the decision regions show where each scheme put the border around the minority sub-blobs.
"""

from __future__ import annotations

import json

import streamlit as st

from workbench.data import points_frame
from workbench.figures import count_bars, decision_boundaries

from .common import chart, need_results


@st.cache_data(show_spinner=False, max_entries=16)
def _points(dataset: str, params_json: str, imbalance_json: str, data_seed: int):
    """The transformed training points, cached by the data settings."""
    return points_frame(dataset, json.loads(params_json), json.loads(imbalance_json), data_seed)


def show(results, experiment) -> None:
    st.subheader("Data")
    if not need_results(results):
        return
    cfg, info = results.config, results.info
    st.markdown(f"**{cfg.dataset}** · {info.get('n_train', '?')} training samples after the "
                f"transforms · {info.get('n_val', '?')} validation · {info.get('n_test', '?')} "
                "test. Transforms touch the training split only.")
    if info.get("notes"):
        st.caption(info["notes"])
    chart(count_bars(info), "data_counts")
    boundary = results.frame("boundary")
    if boundary.empty:
        st.caption("Decision regions are drawn for 2-D classification data (blobs2d).")
        return
    st.markdown("#### Decision regions")
    points = _points(cfg.dataset, json.dumps(cfg.dataset_params, sort_keys=True),
                     json.dumps(cfg.imbalance, sort_keys=True), cfg.data_seed)
    chart(decision_boundaries(boundary, points, class_names=info.get("class_names")),
          "data_boundaries")
    st.caption("Background: predicted class of the first seed of each scheme. Points: the "
               "training split after the transforms, coloured by class, shaped by group.")
