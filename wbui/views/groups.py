"""Groups: per-group (or per-class) loss and accuracy over epochs, worst group called out.

Why: reweighting exists for the groups an average hides. The worst group at the end is
what worst-group accuracy reports; the curves show how it got there (learned late, never,
or learned and then forgotten as an up-weighted rare group is over-fitted).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.figures import group_curves
from workbench.metrics.catalog import higher_is_better

from .common import chart, need_results
from .controls import smoothing

SPLITS = {"test": "test", "val": "validation", "train": "training",
          "train_batch": "training batches"}


def show(results, experiment) -> None:
    st.subheader("Groups")
    if not need_results(results):
        return
    history = results.frame("history")
    if "split" not in history:
        st.info("These runs recorded no history (they stopped before the first step).")
        return
    regression = results.task == "regression"
    a, b, c = st.columns(3)
    split = a.radio("Split", list(SPLITS), format_func=SPLITS.get, horizontal=True,
                    key="groups_split", help="Evaluated after every epoch (epochs 1, 2, ...) "
                    "on train/val/test; 'training batches' is the per-step batch loss the "
                    "schemes react to.")
    in_split = set(history.loc[history["split"] == split, "metric"].astype(str))
    metrics = [m for m in ("accuracy", "mse", "loss") if m in in_split] or ["loss"]
    metric = b.radio("Metric", metrics, horizontal=True, key=f"groups_metric_{split}",
                     help="What this split records: accuracy and loss (classification) or "
                     "mse (regression) per epoch; the batch loss per step.")
    levels = ["group"] if regression else ["group", "class"]
    level = c.radio("Level", levels, horizontal=True, key="groups_level",
                    help="Groups are the data set's group attribute; classes are labels.")
    window = smoothing(history, "groups_smooth") if split == "train_batch" else 1
    _worst(history, split, metric, level)
    chart(group_curves(history, split=split, metric=metric, level=level, smooth=window),
          "groups_curves")


def _worst(history: pd.DataFrame, split: str, metric: str, level: str) -> None:
    """A line per scheme naming the worst group at the last evaluation (mean over seeds)."""
    h = history[(history["split"] == split) & (history["metric"] == metric)]
    h = h[h["level"] == level]
    if h.empty:
        return
    last = h[h["step"] == h.groupby("scheme")["step"].transform("max")]
    means = last.groupby(["scheme", "group"])["value"].mean().reset_index()
    higher = higher_is_better(metric)
    if higher is None:  # no better direction: no worst group
        return
    lines = []
    for scheme in dict.fromkeys(h["scheme"]):  # in the comparison's order
        part = means[means["scheme"] == scheme]
        row = part.loc[part["value"].idxmin() if higher else part["value"].idxmax()]
        lines.append(f"**{scheme}**: :red[{row['group']}] ({metric} {row['value']:.3f})")
    when = (f"after epoch {int(last['epoch'].max())}" if split != "train_batch"
            else f"at step {int(last['step'].max())}")
    st.markdown(f"Worst {level} {when} ({SPLITS[split]}): " + " · ".join(lines))
