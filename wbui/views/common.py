"""Small pieces every view shares: the "nothing loaded" note and a chart helper."""

from __future__ import annotations

import streamlit as st


def need_results(results) -> bool:
    """True if a comparison is loaded; otherwise say how to get one."""
    if results is None:
        st.info("No comparison loaded yet: set up an experiment in the sidebar and press "
                "**Run comparison**, or load stored runs from the **Runs** tab.",
                icon=":material/info:")
        return False
    if results.mixed:
        st.warning("The loaded runs use different data sets or imbalance settings: "
                   "views that pool them are not comparable.", icon=":material/warning:")
    return True


def chart(fig, key: str) -> None:
    """A full-width Plotly chart with a stable key (so reruns keep zoom state)."""
    st.plotly_chart(fig, key=key, config={"displaylogo": False})


def describe_config(cfg) -> str:
    """One line: what the runs were trained on."""
    imb = ", ".join(f"{t['kind']}(" + ", ".join(f"{k}={v}" for k, v in t.items() if k != "kind")
                    + ")" for t in cfg.imbalance) or "none"
    params = ", ".join(f"{k}={_short(v)}" for k, v in cfg.dataset_params.items())
    return (f"**{cfg.dataset}**{f' ({params})' if params else ''} · imbalance: {imb} · "
            f"model: {cfg.model} · {cfg.epochs} epochs · batch {cfg.batch_size} · "
            f"{cfg.optimizer} lr {cfg.lr:g}")


def _short(value) -> str:
    """An uploaded file by the start of its content hash, not its whole store path."""
    text = str(value)
    if "/uploads/" in text:
        return "upload " + text.rsplit("/", 1)[-1][:12] + "…"
    return text
