"""Runs: everything in the run store, filtered; load runs into the views, delete, export.

Why: the store keeps every run trained here, in a notebook or from the CLI, so past
comparisons can be re-opened in a second instead of retrained, and shared as CSV. Runs are
loaded one experiment at a time (``RunConfig.experiment()``: all but scheme, scheme
parameters and seed), so seeds of different data sets or budgets are never averaged
together. Deleting asks for confirmation because a run can take minutes to train again.
"""

from __future__ import annotations

import streamlit as st

from .. import runner

HIDDEN = ("config", "pid", "host", "code_version", "updated", "summary", "experiment")


def show(results, experiment) -> None:
    st.subheader("Runs in the store")
    store = runner.store()
    everything = store.list()
    st.caption(f"{len(everything)} runs stored in `{store.root}` (set `WORKBENCH_STORE` to use "
               "another folder).")
    if everything.empty:
        st.info("The store is empty: runs appear here once trained.")
        return
    a, b, c = st.columns(3)
    datasets = a.multiselect("Data set", sorted(everything["dataset"].unique()),
                             key="runs_dataset", help="Show runs of these data sets only.")
    schemes = b.multiselect("Scheme", sorted(everything["scheme"].unique()),
                            key="runs_scheme", help="Show runs of these schemes only.")
    statuses = c.multiselect("Status", sorted(everything["status"].unique()),
                             key="runs_status", help="done, diverged, failed, running...")
    table = store.list(dataset=datasets or None, scheme=schemes or None,
                       status=statuses or None)
    first = ["label", "seed", "status", "dataset", "model", "epochs", "imbalance"]
    rest = [c for c in table.columns if c not in HIDDEN and c not in first + ["created", "key"]]
    shown = table[[c for c in first if c in table] + rest + ["created", "key"]].copy()
    shown["created"] = shown["created"].astype(str).str.slice(0, 19).str.replace("T", " ")
    st.dataframe(shown, hide_index=True, key="runs_table",
                 column_config={"imbalance": st.column_config.TextColumn(width="medium")})
    labels = {r.key: f"{r.label} · seed {r.seed} · {r.dataset} · {r.status} · {r.key[:8]}"
              for r in table.itertuples(index=False)}
    all_shown = st.checkbox(f"Select all {len(table)} shown runs", key="runs_all",
                            help="Act on every run the filters show.")
    chosen = list(labels) if all_shown else st.multiselect(
        "Select runs", list(labels), format_func=labels.get, key="runs_selected",
        help="Pick runs to load into the other tabs, delete or export.")
    loadable = [k for k in chosen if k in set(table.loc[table["status"].isin(
        ["done", "diverged"]), "key"])]
    groups = experiments(table, loadable)
    if len(groups) > 1:
        st.caption(f"The selection holds {len(groups)} experiments (runs that differ in more "
                   "than scheme and seed: data, model, budget...). Runs of different "
                   "experiments are never averaged together: load one at a time.")
        pick = st.selectbox("Experiment to load", list(groups), key="runs_experiment",
                            format_func=lambda e: groups[e][0],
                            help="The runs of this experiment are loaded into the views.")
        loadable = groups[pick][1]
    left, mid, right = st.columns(3)
    left.button(f"Load {len(loadable)} into views", key="runs_load", type="primary",
                disabled=not loadable, on_click=_load, args=(tuple(loadable),),
                icon=":material/open_in_browser:",
                help="Show these runs in Overview, Weights, Groups, Calibration and Data.")
    mid.button(f"Delete {len(chosen)}", key="runs_delete", disabled=not chosen,
               on_click=_ask_delete, args=(tuple(chosen),), icon=":material/delete:")
    right.download_button("Download CSV", store.export_csv(chosen or list(table["key"])),
                          file_name="workbench-runs.csv", mime="text/csv", key="runs_csv",
                          icon=":material/download:", on_click="ignore",
                          help="The selected runs (or all shown) with config and metrics.")
    _confirm_delete()


def experiments(table, keys: list) -> dict[str, tuple[str, list]]:
    """Experiment id -> (a label, the keys of ``keys`` in it), in the order of ``keys``."""
    rows = table.set_index("key")
    out: dict[str, tuple[str, list]] = {}
    for key in keys:
        r = rows.loc[key]
        if r["experiment"] not in out:
            label = f"{r['dataset']} · {r['model']} · {r['epochs']} epochs · imbalance " \
                    f"{r['imbalance']} · #{r['experiment'][:6]}"
            out[r["experiment"]] = (label, [])
        out[r["experiment"]][1].append(key)
    return {e: (f"{label} · {len(ks)} runs", ks) for e, (label, ks) in out.items()}


def _load(keys: tuple) -> None:
    ss = st.session_state
    ss.keys, ss.pending = keys, None
    ss.note, ss.note_is_warning = f"Loaded {len(keys)} stored runs from the Runs tab.", False
    ss.view = "Overview"


def _ask_delete(keys: tuple) -> None:
    st.session_state.confirm_delete = keys


def _confirm_delete() -> None:
    keys = st.session_state.get("confirm_delete")
    if not keys:
        return
    with st.container(border=True):
        st.warning(f"Delete {len(keys)} runs from the store? This removes their files; "
                   "they would have to be trained again.", icon=":material/warning:")
        yes, no = st.columns(2)
        yes.button("Yes, delete", key="runs_delete_yes", type="primary", on_click=_delete,
                   args=(keys,))
        no.button("Keep them", key="runs_delete_no", on_click=_ask_delete, args=((),))


def _delete(keys: tuple) -> None:
    ss = st.session_state
    store = runner.store()
    for key in keys:
        try:
            store.delete(key)
        except ValueError:
            pass  # already gone (another session deleted it)
    kept = tuple(k for k in ss.get("keys") or () if k not in keys)
    ss.keys = kept or None
    ss.confirm_delete, ss.runs_selected, ss.runs_all = (), [], False
    runner.load_results.clear()
