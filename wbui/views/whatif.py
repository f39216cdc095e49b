"""What-if: sweep one setting of the sidebar's experiment and plot a metric against it.

Why: "does class weighting help more as the imbalance grows?" is a curve, not a point.
This view runs ``workbench.sweep`` (batched replicas, results in the run store, so a
sweep run again only trains what is missing) for each scheme of the sidebar over the
values typed here, with the sidebar's seeds, and draws ``figures.sweep_lines``: the
mean over seeds with its 95% interval as a band, one dot per run in the scheme's colour,
the x axis named from the parameter's declaration (``setting_label``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import workbench as wb
from workbench.figures.sweep import setting_label, sweep_lines
from workbench.metrics.catalog import arrow

from .common import chart

MAX_RUNS = 120  # a sweep bigger than this belongs in the CLI or a notebook
METRICS = ("balanced_accuracy", "worst_group_accuracy", "accuracy", "ece", "worst_class_accuracy")
TRAINING = ("lr", "epochs", "weight_decay", "batch_size")


def sweepable(cfg: wb.RunConfig) -> dict[str, str]:
    """Dotted path -> label (from the parameter's declaration) for every numeric setting.

    Example:
        >>> cfg = wb.RunConfig(imbalance=[{"kind": "longtail", "ratio": 50}])
        >>> sweepable(cfg)["imbalance.0.ratio"]
        'long tail ratio (largest / smallest class size) · transform 1'
    """
    out = {}
    for i, t in enumerate(cfg.imbalance):
        for k, v in t.items():
            if k != "kind" and isinstance(v, (int, float)) and not isinstance(v, bool):
                path = f"imbalance.{i}.{k}"
                out[path] = f"{setting_label(path, cfg)} · transform {i + 1}"
    params = {**wb.DATASETS.params(cfg.dataset), **cfg.dataset_params}
    for k, v in params.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            path = f"dataset_params.{k}"
            out[path] = f"{cfg.dataset}: {setting_label(path, cfg)}"
    out.update({path: f"training: {setting_label(path, cfg)}" for path in TRAINING})
    return out


def default_values(path: str, cfg: wb.RunConfig) -> str:
    if path.endswith(".ratio"):
        return "1, 10, 50, 100"
    current = _get(cfg.to_dict(), path)
    if current is None:
        current = wb.DATASETS.params(cfg.dataset).get(path.split(".")[-1], 1)
    if isinstance(current, int) and not isinstance(current, bool):
        return ", ".join(str(max(1, int(current * f))) for f in (0.5, 1, 2))
    return ", ".join(f"{current * f:g}" for f in (0.5, 1, 2))


def parse_values(text: str) -> list:
    """'1, 10, 0.5' -> [1, 10, 0.5]; a clear ValueError otherwise."""
    values = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            values.append(int(part) if part.lstrip("-").isdigit() else float(part))
        except ValueError:
            raise ValueError(f"{part!r} is not a number: type numbers separated by "
                             "commas") from None
    if len(values) < 2:
        raise ValueError("type at least two values, separated by commas")
    return values


def _get(d, path):
    for part in path.split("."):
        if isinstance(d, list) and part.isdigit() and int(part) < len(d):
            d = d[int(part)]
        elif isinstance(d, dict) and part in d:
            d = d[part]
        else:
            return None
    return d


def run_sweep(experiment, path: str, values: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One sweep per scheme entry of the sidebar (each keeps its own parameters): the
    stacked tables (mean and interval per point) and runs (one row per seed)."""
    from .. import runner

    tables, runs, bar = [], [], st.progress(0.0, text="Starting the sweep...")
    for i, (name, params) in enumerate(experiment.schemes):
        bar.progress(i / len(experiment.schemes), text=f"Sweeping {name} ({i + 1} of "
                     f"{len(experiment.schemes)}): {len(values)} values x "
                     f"{len(experiment.seeds)} seeds")
        base = experiment.config.replace(scheme=name, scheme_params=params)
        sw = wb.sweep(base, {path: values}, experiment.seeds, store=runner.store(), workers=1)
        tables.append(sw.table)
        runs.append(sw.summaries)
    bar.empty()
    st.cache_data.clear()  # new runs in the store: cached comparisons may be stale
    return pd.concat(tables, ignore_index=True), pd.concat(runs, ignore_index=True)


def show(results, experiment) -> None:
    st.subheader("What-if: sweep one setting")
    st.markdown("Runs the sidebar's schemes and seeds over several values of one setting "
                "and plots a metric against it (mean over seeds, band = 95% interval). "
                "Runs land in the run store, so a repeated sweep only trains what is missing.")
    if experiment is None or not experiment.schemes:
        st.info("Choose at least one scheme in the sidebar first.", icon=":material/info:")
        return
    options = sweepable(experiment.config)
    path = st.selectbox("Setting to sweep", list(options), format_func=options.get,
                        key="whatif_path", help="Numeric settings of the sidebar's experiment: "
                        "imbalance transform parameters, data set parameters, training budget.")
    text = st.text_input("Values (comma-separated)", default_values(path, experiment.config),
                         key=f"whatif_values_{path}",
                         help="Each value is one point on the x axis; every scheme and seed "
                              "trains once per value.")
    try:
        values = parse_values(text)
        n_runs = len(values) * len(experiment.schemes) * len(experiment.seeds)
        if n_runs > MAX_RUNS:
            raise ValueError(f"{n_runs} runs is more than this view runs ({MAX_RUNS}); use "
                             "fewer values or seeds, or `python -m workbench sweep`")
        from workbench.sweep_grid import expand_grid

        expand_grid(experiment.config, {path: values}, experiment.seeds)  # validates all
    except ValueError as err:
        st.error(str(err), icon=":material/error:")
        return
    st.caption(f"{n_runs} runs: {len(values)} values x {len(experiment.schemes)} schemes x "
               f"{len(experiment.seeds)} seeds.")
    if st.button("Run sweep", key="whatif_run", icon=":material/play_arrow:"):
        try:
            st.session_state.whatif = (path, *run_sweep(experiment, path, values),
                                       experiment.config)
        except ValueError as err:
            st.error(f"The sweep could not run: {err}", icon=":material/error:")
            return
    if st.session_state.get("whatif") is None:
        return
    swept, table, runs, config = st.session_state.whatif
    present = [m for m in METRICS if m in set(table["metric"])] or sorted(set(table["metric"]))
    metric = st.selectbox("Metric", present, key="whatif_metric",
                          format_func=lambda m: f"{m} {arrow(m)}".strip(),
                          help="↑ higher is better, ↓ lower is better.")
    chart(sweep_lines(table, x=swept, metric=metric, points=runs, config=config),
          "whatif_lines")
    with st.expander("Table"):
        st.dataframe(table[table["metric"] == metric], hide_index=True)
