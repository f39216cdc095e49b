"""Controls several views share: the smoothing window of per-step curves, the epoch slider.

Why here: a per-step curve is one batch per point, so its noise hides the trend; the same
control (a trailing rolling mean over a window of steps) sits above every per-step figure,
and the figure builders take the window (``workbench.figures.style.rolling``). Epochs are
numbered from 1 everywhere, as in the history's ``epoch`` rows.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

WINDOWS = (1, 2, 5, 10, 20, 50, 100, 200, 500)


def steps_per_epoch(history: pd.DataFrame) -> int:
    """Median number of training steps per (scheme, seed, epoch) of the history."""
    h = history[history["split"] == "train_batch"] if "split" in history else history
    if h.empty or "epoch" not in h:
        return 1
    keys = [c for c in ("scheme", "seed", "epoch") if c in h.columns]
    return max(int(h.groupby(keys)["step"].nunique().median()), 1)


def windows(history: pd.DataFrame) -> tuple[list[int], int]:
    """(window choices up to half the run, default: the largest within one epoch)."""
    steps = int(history["step"].max()) + 1 if "step" in history and len(history) else 1
    options = [w for w in WINDOWS if w == 1 or w <= steps // 2]
    epoch = steps_per_epoch(history)
    return options, max(w for w in options if w <= max(epoch, 1))


def smoothing(history: pd.DataFrame, key: str) -> int:
    """A slider for the rolling window (in steps) of the per-step curves below it."""
    options, default = windows(history)
    if len(options) == 1:
        return 1
    return st.select_slider(
        "Smoothing of per-step curves", options, value=default, key=key,
        format_func=lambda w: "off" if w == 1 else f"{w} steps",
        help=f"Trailing rolling mean over this many training steps, per seed, before the "
             f"mean over seeds (one epoch is about {steps_per_epoch(history)} steps). Each "
             "step is one batch, so raw curves are noisy; the figure title says the window.")


def epoch_slider(weights: pd.DataFrame, key: str) -> int | None:
    """An epoch slider over the weights frame's epochs, numbered from 1 (None: one epoch)."""
    if "epoch" not in weights or weights.empty:
        return None
    epochs = sorted(int(e) + 1 for e in weights["epoch"].unique())  # 0-based column
    if len(epochs) < 2:
        return None
    return st.slider("Epoch", epochs[0], epochs[-1], epochs[-1], key=key,
                     help=f"Epoch (1 to {epochs[-1]}, as in the Groups tab) whose "
                          "tracked-sample weights are shown.")
