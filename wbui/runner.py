"""Runs a comparison through the run store, with a live progress bar and a Cancel button.

Why through the store: a run that was trained once (here, in a notebook or from the CLI)
is loaded, not trained again, so re-opening a comparison takes well under a second. Only
the store keys of the comparison on show live in ``st.session_state``; the RunStore is a
``st.cache_resource`` and the loaded tables and frames a ``st.cache_data`` keyed by them.

Training: the runs missing from the store train in batches, one per seed, each holding
every scheme of that seed as batched replicas (``workbench.batched``: one vectorised
pass, the same numbers as one by one).

Cancelling: a click on Cancel makes Streamlit rerun the script, which interrupts the
training loop at its next progress update (the store then forgets the half-done run);
the rerun sees ``cancel_requested`` and shows the runs that finished before the click.
The same flag is also polled through ``FunctionProgress(should_stop=...)``, which ends a
run cleanly when the flag is set by other means. Finished runs always stay in the store.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from workbench import SCHEMES, FunctionProgress, RunConfig
from workbench.batched import plan_batches
from workbench.store import RunStore

from .experiment import Experiment


@dataclass
class Results:
    """What every view reads: one comparison loaded from the store."""

    keys: tuple
    config: RunConfig
    table: pd.DataFrame
    summaries: pd.DataFrame
    runs: pd.DataFrame  # key, scheme, seed, status, diverged_step, message, runtime_s
    frames: dict = field(default_factory=dict)  # history, weights, predictions, boundary
    info: dict = field(default_factory=dict)  # counts and names of the first run's data
    modes: dict = field(default_factory=dict)  # scheme label -> "weight" or "sample"
    mixed: bool = False  # runs of different data sets or imbalance settings

    @property
    def task(self) -> str:
        return self.info.get("task", "classification")

    def frame(self, name: str) -> pd.DataFrame:
        return self.frames.get(name, pd.DataFrame())


@st.cache_resource(show_spinner=False)
def limit_torch_threads() -> int:
    """Use the core's torch thread policy (``workbench.threads``: ``$WORKBENCH_TORCH_THREADS``,
    default 1) outside training too (the views' predictions); training sets it itself, so
    the app, the CLI and ``wb.train`` give the same numbers. Once per process."""
    import torch

    from workbench.threads import torch_threads

    n = torch_threads()
    torch.set_num_threads(n)
    return n


@st.cache_resource(show_spinner=False)
def _store(root: str) -> RunStore:
    return RunStore(root or None)


def store() -> RunStore:
    """The run store of this process (``$WORKBENCH_STORE``, else ``<repo>/runs``)."""
    return _store(os.environ.get("WORKBENCH_STORE", ""))


@st.cache_data(show_spinner="Loading runs from the store...", max_entries=16)
def load_results(root: str, keys: tuple) -> Results:
    """The comparison of stored runs ``keys`` with its tables and stacked frames."""
    cmp = _store(root).comparison(list(keys))
    first = cmp.runs[0]
    data_id = {(r.config.dataset, repr(r.config.dataset_params), repr(r.config.imbalance))
               for r in cmp.runs}
    runs = pd.DataFrame([{"key": r.key, "scheme": r.label, "seed": r.config.seed,
                          "status": r.status, "diverged_step": r.diverged_step,
                          "message": r.message, "runtime_s": r.info.get("runtime_s")}
                         for r in cmp.runs])
    info = next((r.info for r in cmp.runs if r.info.get("counts_after")), first.info)
    return Results(keys=tuple(keys), config=first.config, table=cmp.table,
                   summaries=cmp.summaries, runs=runs,
                   frames={n: cmp.frame(n) for n in ("history", "weights", "predictions",
                                                      "boundary")},
                   info=info, mixed=len(data_id) > 1,
                   modes={r.label: SCHEMES.create(r.config.scheme, **r.config.scheme_params).mode
                          for r in cmp.runs})


def current_results() -> Results | None:
    """The comparison on show, or None; runs deleted elsewhere are dropped with a note."""
    keys = st.session_state.get("keys")
    if not keys:
        return None
    try:
        return load_results(os.environ.get("WORKBENCH_STORE", ""), tuple(keys))
    except ValueError as err:  # e.g. deleted from the store by another session or the CLI
        st.session_state.keys = None
        st.warning(f"The comparison on show can no longer be loaded: {err}",
                   icon=":material/warning:")
        return None


def request(exp: Experiment, force: bool = False) -> None:
    """Ask for ``exp`` to be shown: it runs (or loads) on this script run."""
    st.session_state.pending, st.session_state.pending_force = exp, force


def _cancel() -> None:
    st.session_state.cancel_requested = True


def run_pending() -> None:
    """Train or load the pending experiment with a progress bar; keep its keys."""
    ss = st.session_state
    exp = ss.get("pending")
    if exp is None:
        return
    try:
        configs = exp.configs()
    except ValueError as err:
        ss.pending = None
        st.error(f"Cannot run this experiment: {err}", icon=":material/error:")
        return
    slot = st.empty()  # emptied when done, so the bar and Cancel disappear
    box = slot.container(border=True)
    bar = box.progress(0.0, text=f"Preparing {len(configs)} runs...")
    box.button("Cancel", key="cancel", on_click=_cancel, icon=":material/stop_circle:",
               help="Stop training; runs finished so far stay in the store and are shown.")
    keys, started, trained, failure = [], time.perf_counter(), 0, ""
    force = ss.get("pending_force", False)
    finished = set() if force else set(_finished_keys(configs))  # one index query
    stored = {i: k for i, k in enumerate(store().key(c) for c in configs) if k in finished}
    batches = batches_of(configs, [i for i in range(len(configs)) if i not in stored])
    done = len(stored)
    for b, batch in enumerate(batches):
        if ss.get("cancel_requested"):
            break
        first = configs[batch[0]]
        label = (f"batch {b + 1}/{len(batches)} · {len(batch)} run{'s' * (len(batch) > 1)} "
                 f"· seed {first.seed}")
        progress = FunctionProgress(_bar_updater(bar, done, len(batch), len(configs), label),
                                    every=1,
                                    should_stop=lambda: ss.get("cancel_requested", False))
        try:
            runs = store().train_many([configs[i] for i in batch], force=force,
                                      callbacks=[progress])
        except Exception as err:  # noqa: BLE001 - shown, not raised; the store marks it failed
            # e.g. a batch size larger than the imbalanced training set (a ValueError)
            what = "" if isinstance(err, ValueError) else f"{type(err).__name__}: "
            failure = f"Training {label} failed: {what}{err}"
            st.error(failure, icon=":material/error:")
            break
        if any(r.status == "cancelled" for r in runs):
            break
        trained += len(batch)
        stored.update({i: r.key for i, r in zip(batch, runs)})
        done += len(batch)
        bar.progress(done / len(configs), text=f"Finished {label}")
    keys = [stored[i] for i in range(len(configs)) if i in stored]
    _finish(exp, keys, len(configs), trained, time.perf_counter() - started, failure)
    slot.empty()


def batches_of(configs: list, todo: list[int]) -> list[list[int]]:
    """Indices to train together (``workbench.batched.plan_batches``), one batch per seed
    holding every scheme of that seed, so Cancel still keeps every batch that finished;
    runs that cannot be batched (multi-stage schemes, dropout, the transformer) go alone."""
    return [[todo[j] for j in batch]
            for batch in plan_batches([configs[i] for i in todo], by=lambda c: c.seed)]


def _bar_updater(bar, done_before: int, size: int, n: int, label: str):
    """A throttled progress-bar update (at most ~10 per second)."""
    last = [0.0]

    def update(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 0.1 or done == total:
            last[0] = now
            bar.progress(min(1.0, (done_before + size * done / max(total, 1)) / n),
                         text=f"Training {label} · step {done}/{total}")
    return update


def _finish(exp: Experiment, keys: list, n: int, trained: int, seconds: float,
            failure: str = "") -> None:
    """Keep the keys of what finished and a note saying how the request ended."""
    ss = st.session_state
    ss.note_is_warning = bool(failure) or len(keys) < n
    if failure:
        ss.note = f"Stopped: {failure}. {len(keys)} of {n} runs finished."
    elif ss.get("cancel_requested") and len(keys) < n:
        finished = _finished_keys(exp.configs())
        keys = finished if len(finished) > len(keys) else keys
        ss.note = (f"Comparison cancelled: {len(keys)} of {n} runs had finished; they stay "
                   "in the store and are shown here." if keys else
                   "Comparison cancelled before any run finished"
                   + ("; still showing the previous comparison." if ss.get("keys") else "."))
    else:
        ss.note = (f"{len(keys)} runs ready in {seconds:.1f} s ({trained} trained, "
                   f"{len(keys) - trained} loaded from the store).")
    ss.cancel_requested, ss.pending = False, None
    if trained:  # a forced retrain keeps its keys: drop results cached under them
        st.cache_data.clear()
    if keys:
        ss.keys = tuple(keys)
    ss.last_run_s = seconds


def _finished_keys(configs: list) -> list[str]:
    """Keys of these configs' runs already in the store (done or diverged), read from the
    index alone (no run is loaded)."""
    s = store()
    wanted = [s.key(c) for c in configs]
    table = s.list()
    ok = set(table.loc[table["status"].isin(["done", "diverged"]), "key"])
    return [k for k in wanted if k in ok]
