"""Runs a comparison through the run store in the background, with live views and Cancel.

Why through the store: a run that was trained once (here, in a notebook or from the CLI)
is loaded, not trained again, so re-opening a comparison takes well under a second. Only
the store keys of the comparison on show live in ``st.session_state``; the RunStore is a
``st.cache_resource`` and the loaded tables and frames a ``st.cache_data`` keyed by them.

Training: the runs missing from the store train in a worker process (``job.Job``, ``worker``), in
batches, one per seed, each holding every scheme of that seed as batched replicas
(``workbench.batched``: one vectorised pass, the same numbers as one by one). The script
returns at once; while the job runs, the app's fragment redraws the progress bar (elapsed
time, time left) and the views from the finished runs plus the partial records of the runs
in flight (``live_results``) about once a second.

Cancelling stops the job after its current step: the batch in flight is dropped (the
store keeps only complete runs), the batches that finished stay stored and are shown.

Out of date: ``banner`` says when the results on show are not what the sidebar describes;
``follow_sidebar`` loads a changed experiment at once when all its runs are stored.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from workbench import SCHEMES, RunConfig
from workbench.compare import TABLE_COLUMNS, combine
from workbench.figures import group_weight_over_steps
from workbench.store import RunStore

from . import estimate
from .experiment import Experiment
from .job import Job
from .views.common import chart

RUN_COLUMNS = ("key", "scheme", "seed", "status", "diverged_step", "message", "runtime_s")


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
    """Ask for ``exp`` to be shown: it loads (or starts training) on this script run."""
    st.session_state.pending, st.session_state.pending_force = exp, force


def run_pending() -> None:
    """Show the pending experiment: stored runs load at once; otherwise a ``Job`` starts
    training the missing ones in the background (a running one is cancelled first)."""
    ss = st.session_state
    exp, force = ss.get("pending"), ss.get("pending_force", False)
    if exp is None:
        return
    ss.pending = None
    try:
        configs = exp.configs()
    except ValueError as err:
        st.error(f"Cannot run this experiment: {err}", icon=":material/error:")
        return
    old = ss.get("job")
    if old is not None and old.running:
        old.cancel()
        old.join(30)
        finish_job()
    keys = [] if force else stored_keys(configs)
    if len(keys) == len(configs):  # everything stored: no thread, no progress bar
        _show(exp, keys, f"{len(keys)} runs ready (0 trained, {len(keys)} loaded from the "
                         "store).", False)
        return
    ss.note, ss.job_exp = None, exp
    job = Job(configs, store(), force)
    est = ss.get("estimate")
    job.estimate = est[1] if est and est[0] == exp.fingerprint and not force else None
    ss.job = job.start()


def training() -> bool:
    """True while a comparison trains in the background (the live views are on)."""
    job = st.session_state.get("job")
    return job is not None and job.running


def finish_job() -> None:
    """Once a job ended: keep the keys of what finished and a note on how it ended."""
    ss = st.session_state
    job = ss.get("job")
    if job is None or job.running:
        return
    ss.job = None
    keys, n = job.finished_keys(), len(job.configs)
    seconds = (job.ended or time.perf_counter()) - job.started
    if job.failure:
        note, warn = f"Stopped: {job.failure}. {len(keys)} of {n} runs finished.", True
        ss.failure = job.failure
    elif job.cancelled and len(keys) < n:
        note, warn = ((f"Comparison cancelled: {len(keys)} of {n} runs had finished; they "
                       "stay in the store and are shown here.") if keys else
                      "Comparison cancelled before any run finished"
                      + ("; still showing the previous comparison." if ss.get("keys")
                         else "."), True)
    else:
        note, warn = (f"{len(keys)} runs ready in {seconds:.1f} s ({job.trained} trained, "
                      f"{len(keys) - job.trained} loaded from the store).", len(keys) < n)
    if job.trained and job.force:  # a retrain keeps its keys: drop results cached under them
        load_results.clear()
    estimate.learn(job)
    if keys:
        _show(ss.get("job_exp"), keys, note, warn)
    else:
        ss.note, ss.note_is_warning = note, warn


def _show(exp: Experiment | None, keys: list, note: str, warn: bool) -> None:
    ss = st.session_state
    ss.keys, ss.note, ss.note_is_warning = tuple(keys), note, warn
    ss.shown = (tuple(keys), exp.fingerprint if exp is not None else None)


def stored_keys(configs: list) -> list[str]:
    """Keys of these configs' runs already in the store (done or diverged), in order, read
    from the index alone (no run is loaded); empty unless every config is stored."""
    s = store()
    wanted = [s.key(c) for c in configs]
    table = s.list()
    ok = set(table.loc[table["status"].isin(["done", "diverged"]), "key"])
    return [k for k in wanted if k in ok]


def stored_positions(configs: list) -> set[int]:
    """Positions of the configs whose runs are stored (done or diverged)."""
    s = store()
    table = s.list()
    ok = set(table.loc[table["status"].isin(["done", "diverged"]), "key"])
    return {i for i, c in enumerate(configs) if s.key(c) in ok}


def follow_sidebar(exp: Experiment, problems: dict) -> None:
    """A sidebar change to an experiment whose runs are all stored loads it at once."""
    ss = st.session_state
    changed = ss.get("sidebar_fp") not in (None, exp.fingerprint)
    ss.sidebar_fp = exp.fingerprint
    if not changed or problems or training() or ss.get("pending") is not None:
        return
    try:
        configs = exp.configs()
    except ValueError:
        return
    keys = stored_keys(configs)
    if len(keys) == len(configs):
        _show(exp, keys, f"Loaded {len(keys)} stored runs of the experiment in the sidebar.",
              False)


def banner(exp: Experiment) -> None:
    """Say so when the results on show (or in training) are not what the sidebar says."""
    ss = st.session_state
    if training():
        job_exp = ss.get("job_exp")
        if job_exp is not None and job_exp.fingerprint != exp.fingerprint:
            st.warning("**Out of date**: the comparison training below is not what the "
                       "sidebar describes any more. Press **Run comparison** to switch to "
                       "it (runs finished so far stay stored).", icon=":material/update:")
        return
    keys = ss.get("keys")
    if not keys:
        return
    shown = ss.get("shown")
    if shown is not None and shown[0] == tuple(keys) and shown[1] == exp.fingerprint:
        return
    where = ("were loaded from the Runs tab" if shown is None or shown[0] != tuple(keys)
             else "are of an earlier setting")
    st.warning(f"**Out of date**: the results below {where}; the sidebar describes another "
               "experiment. Press **Run comparison** to train it (stored runs load at once).",
               icon=":material/update:")


def _cancel() -> None:
    job = st.session_state.get("job")
    if job is not None:
        job.cancel()


def progress_box(job: Job, live: Results | None, weights_chart: bool = True) -> None:
    """The progress bar (elapsed time, estimated time left), Cancel, and (``weights_chart``) the
    mean weight of each group so far (the weights move while the comparison trains)."""
    box = st.container(border=True, key="live_box")
    frac, elapsed, left = job.progress()
    eta = f" · about {left:.0f} s left" if left is not None else ""
    box.progress(frac, text=f"Training {job.label} · {elapsed:.0f} s elapsed{eta} · "
                            f"{len(job.keys)} of {len(job.configs)} runs finished"
                            + (" · cancelling..." if job.cancelled else ""))
    box.button("Cancel", key="cancel", on_click=_cancel, icon=":material/stop_circle:",
               disabled=job.cancelled,
               help="Stop training; runs finished so far stay in the store and are shown.")
    history = live.frame("history") if live is not None and weights_chart else pd.DataFrame()
    if "split" in history and (history["split"] == "train_batch").any():
        with box:
            chart(group_weight_over_steps(history, level="group", metric="weight"),
                  "live_weights")


class LazyFrames(dict):
    """Frames made on first use: a view that draws no history costs no history."""

    def __init__(self, makers: dict):
        super().__init__()
        self.makers = makers

    def get(self, name, default=None):
        if name not in self and name in self.makers:
            self[name] = self.makers.pop(name)()
        return super().get(name, default)


def live_results(job: Job) -> tuple[Results | None, Results | None]:
    """(finished runs with the partial records of the runs training, finished runs only);
    the frames are stacked when a view first asks for them."""
    keys = tuple(job.finished_keys())
    done = load_results(os.environ.get("WORKBENCH_STORE", ""), keys) if keys else None
    partial = job.partial_runs()
    if not partial:
        return done, done

    def stacked(name):
        parts = [done.frame(name)] if done is not None else []
        return lambda: pd.concat([*parts, combine(partial, name)], ignore_index=True)

    frames = LazyFrames({"history": stacked("history"), "weights": stacked("weights")})
    frames.update({n: f for n, f in (done.frames if done else {}).items()
                   if n not in ("history", "weights")})
    rec, empty = job.records, pd.DataFrame(columns=TABLE_COLUMNS)
    live = Results(
        keys=keys, config=job.configs[0], table=done.table if done else empty,
        summaries=done.summaries if done else pd.DataFrame(),
        runs=done.runs if done else pd.DataFrame(columns=list(RUN_COLUMNS)), frames=frames,
        info=done.info if done else {"task": rec.task, "group_names": rec.groups,
                                     "class_names": rec.classes},
        modes={c.label: SCHEMES.create(c.scheme, **c.scheme_params).mode for c in job.configs})
    return live, done
