"""A comparison training in a background thread, readable while it runs.

Why a thread: Streamlit reruns the script on every interaction, and a script run that
trains for a minute blocks the page. Here the script starts a ``Job`` and returns at once;
a fragment re-draws the views from ``Job.partial_runs()`` about once a second while the
thread trains the missing runs through the run store, one batch per seed (every scheme of
that seed as batched replicas, ``workbench.batched.plan_batches``), so each finished batch
appears as it lands. ``cancel`` makes the training callbacks ask the engine to stop after
the current step: the runs of the batch in flight are marked cancelled and not stored
(``RunStore.train_many``), so the store only ever holds complete runs; the batches that
finished before stay stored and shown.

Where the runs train: by default in a worker process (``wbui.worker``: the thread only
waits for it and adds its records to ``records``), so the live views keep this process's
core; ``where="thread"`` (or ``WORKBENCH_APP_TRAINING=thread``) trains in the thread.

The thread never calls Streamlit; the script reads ``keys``, ``progress()``,
``partial_runs()`` and, once ``done``, ``failure``.

Example:
    >>> import tempfile, workbench as wb
    >>> from workbench.store import RunStore
    >>> cfgs = [wb.RunConfig(dataset="blobs2d", epochs=1, model="linear", seed=s) for s in (0, 1)]
    >>> job = Job(cfgs, RunStore(tempfile.mkdtemp()), where="thread").start(); job.join()
    >>> job.done, len(job.keys), job.trained
    (True, 2, 2)
"""

from __future__ import annotations

import math
import os
import threading
import time

from workbench import Run
from workbench.batched import plan_batches
from workbench.data.prepare import data_facts, load_prepared

from . import worker
from .live import LiveRecords


class Job:
    """Train (or load) ``configs`` through ``store`` in a daemon thread."""

    def __init__(self, configs: list, store, force: bool = False, where: str | None = None):
        self.configs, self.store, self.force = list(configs), store, force
        self.where = where or os.environ.get("WORKBENCH_APP_TRAINING", "process")
        if self.where not in ("process", "thread"):
            raise ValueError(f"WORKBENCH_APP_TRAINING must be 'process' or 'thread', got "
                             f"{self.where!r}")
        self.keys: dict[int, str] = {}  # config index -> store key of a finished run
        self.trained, self.failure, self.done = 0, "", False
        self.batch, self.n_batches, self.label = 0, 0, "preparing"
        self.started = time.perf_counter()
        self.training_started: float | None = None
        self.ended: float | None = None
        self.records: LiveRecords | None = None
        self.estimate = None  # the sidebar's estimate of this job (``estimate.learn``)
        self._thread = threading.Thread(target=self._run, daemon=True, name="wb-comparison")

    # ---- control ---------------------------------------------------------------------
    def start(self) -> Job:
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def cancel(self) -> None:
        """Stop after the current step; finished batches stay stored."""
        self.cancelled = True
        if self.records is not None:
            self.records.stop_requested = True

    cancelled = False

    @property
    def running(self) -> bool:
        return not self.done

    # ---- the thread ------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._train()
        except Exception as err:  # noqa: BLE001 - reported by the script, never raised there
            what = "" if isinstance(err, ValueError) else f"{type(err).__name__}: "
            self.failure = f"Training {self.label} failed: {what}{err}"
        finally:
            self.ended = time.perf_counter()
            self.done = True

    def _train(self) -> None:
        store, cfgs = self.store, self.configs
        wanted = [store.key(c) for c in cfgs]
        if not self.force:
            table = store.list()
            ok = set(table.loc[table["status"].isin(["done", "diverged"]), "key"])
            self.keys = {i: k for i, k in enumerate(wanted) if k in ok}
        todo = [i for i in range(len(cfgs)) if i not in self.keys]
        batches = [[todo[j] for j in b]
                   for b in plan_batches([cfgs[i] for i in todo], by=lambda c: c.seed)]
        self.n_batches = len(batches)
        if not batches:
            return
        first = cfgs[todo[0]]
        _, data = load_prepared(first.dataset, first.dataset_params, first.imbalance,
                                first.data_seed)
        self.spe = math.ceil(len(data.train) / first.batch_size)
        self.records = LiveRecords(data.group_names, data.class_names, data.task)
        self.records.stop_requested = self.cancelled
        self.training_started = time.perf_counter()
        for b, batch in enumerate(batches):
            if self.cancelled:
                break
            self.batch = b + 1
            self.label = (f"batch {b + 1}/{len(batches)} · {len(batch)} "
                          f"run{'s' * (len(batch) > 1)} · seed {cfgs[batch[0]].seed}")
            todo_cfgs = [cfgs[i] for i in batch]
            if self.where == "process":  # the views keep this process's core (wbui.worker)
                runs = worker.train(store, todo_cfgs, self.force, self.records,
                                    cancelled=lambda: self.cancelled)
            else:
                runs = store.train_many(todo_cfgs, force=self.force, callbacks=[self.records])
            if any(r.status == "cancelled" for r in runs):
                break
            self.keys.update({i: r.key for i, r in zip(batch, runs)})
            self.trained += len(batch)

    # ---- reading (script thread) -----------------------------------------------------
    def finished_keys(self) -> list[str]:
        """Keys of the runs finished so far, in the comparison's order."""
        keys = dict(self.keys)
        return [keys[i] for i in range(len(self.configs)) if i in keys]

    def progress(self) -> tuple[float, float, float | None]:
        """(fraction done, seconds elapsed, seconds left or None when not known yet)."""
        elapsed = time.perf_counter() - self.started
        n = len(self.configs)
        per_run = self._steps_per_run()
        done_runs = len(self.keys)
        steps_done = 0
        if self.records is not None:
            finished = {LiveRecords.run_id(self.configs[i]) for i in self.keys}
            with self.records.lock:
                steps_done = sum(s for c, s in self.records.steps.items() if c not in finished)
        total = per_run * n
        frac = min(1.0, (done_runs * per_run + steps_done) / max(total, 1))
        if self.training_started is None or frac <= 0.02:
            return frac, elapsed, None
        trained_frac = frac - self._loaded_frac(per_run, total)
        spent = time.perf_counter() - self.training_started
        left = spent / max(trained_frac, 1e-9) * (1 - frac) if trained_frac > 0.02 else None
        return frac, elapsed, left

    def _loaded_frac(self, per_run: int, total: int) -> float:
        loaded = len(self.keys) - self.trained
        return loaded * per_run / max(total, 1)

    def _steps_per_run(self) -> int:
        c = self.configs[0]
        n_train = data_facts(c.dataset, c.dataset_params, c.imbalance, c.data_seed)[0]
        return math.ceil(n_train / c.batch_size) * c.epochs

    def partial_runs(self) -> list[Run]:
        """The runs still training (or cut short), with their partial frames; status
        "running". Finished runs are read from the store instead."""
        rec = self.records
        if rec is None:
            return []
        finished = {LiveRecords.run_id(self.configs[i]) for i in self.keys}
        by_id = {LiveRecords.run_id(c): c for c in self.configs}
        out = []
        for rid in rec.started():
            if rid in finished or rid not in by_id:
                continue
            cfg = by_id[rid]
            out.append(Run(config=cfg, status="running", history=rec.history(cfg, self.spe),
                           weights=rec.weights(cfg, self.spe), key=f"live-{cfg.label}-{cfg.seed}"))
        return out
