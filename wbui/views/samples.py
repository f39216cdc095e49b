"""Samples: Dataset Cartography of the tracked samples, coloured by each scheme's weights.

Why: the map (Swayamdipta et al., EMNLP 2020) sorts training samples into easy-to-learn,
ambiguous and hard-to-learn from their training dynamics; colouring it by the mean weight a
scheme gave each sample shows which kind of sample the scheme up-weights. Picking a sample
shows its loss and weight over training under every scheme.
"""

from __future__ import annotations

import streamlit as st

from workbench.figures import cartography, cartography_map, region_table, sample_trajectory
from workbench.figures.cartography import AMBIGUOUS

from .common import chart, need_results


def show(results, experiment) -> None:
    st.subheader("Samples: dataset cartography")
    if not need_results(results):
        return
    if results.task != "classification":
        st.info("Cartography needs class probabilities: it is drawn for classification data "
                "sets only.", icon=":material/info:")
        return
    weights = results.frame("weights")
    carto = _cartography(weights)
    st.caption("Each dot is a tracked training sample in one seed: **confidence** is the mean "
               "probability the model gave its training label over the epochs, "
               "**variability** its standard deviation, the colour the sample's mean weight "
               "under the scheme; crosses are labels flipped by a label_noise transform. "
               f"Regions: ambiguous from variability {AMBIGUOUS}, else easy-to-learn above "
               "confidence 0.5 and hard-to-learn below (often mislabelled samples).")
    chart(cartography_map(carto), "samples_map")
    if carto.empty:
        return
    by = "noisy" if carto["noisy"].any() else "group"
    st.markdown(f"#### Share of each region, by {'flipped label' if by == 'noisy' else by}")
    st.table(region_table(carto, by=by).style.format(precision=3).hide(axis="index"))
    st.markdown("#### One sample over training")
    ids = sorted(carto["sample_id"].unique().tolist())
    hard = carto.sort_values("confidence")["sample_id"].iloc[0]
    sample = st.selectbox("Sample", ids, index=ids.index(hard), key="samples_pick",
                          help="A tracked training sample (the least confident one is "
                               "selected first): its loss and weight at every step it was "
                               "drawn, one line per scheme and seed.")
    chart(sample_trajectory(weights, int(sample)), "samples_trajectory")


@st.cache_data(show_spinner=False, max_entries=8)
def _cartography(weights):
    return cartography(weights)
