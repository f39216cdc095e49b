"""Partial records of runs still training, read by the views while a comparison trains.

Why: a comparison of a few seconds to minutes used to hide every view behind a bare
progress bar. ``LiveRecords`` is a training callback (``workbench.callbacks``: it fires on
every path, batched replicas and single runs alike) that keeps, per run, what the Weights
and Groups views draw: per-group and per-class share, mean loss and mean weight of the
batch, the batch ESS, a few tracked samples' loss and weight, and every evaluation's rows.
It thins the steps it keeps (at most ``points`` per run) so recording costs a few numpy
operations per kept step, and its frames have the stored runs' columns
(``workbench.run.HISTORY_COLUMNS``, ``WEIGHT_COLUMNS``), so the views draw them unchanged.

Nothing here touches the run store: a partial run is shown, never stored (the store keeps
only finished runs; a cancelled run is dropped by ``RunStore.train_many``).

Example:
    >>> rec = LiveRecords(["a", "b"], ["0", "1"], "classification", points=10)
    >>> rec.on_start(100, "cfg")
    >>> rec.every[("cfg", 0)]
    10
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from workbench.callbacks import Callback
from workbench.run import HISTORY_COLUMNS, WEIGHT_COLUMNS

TRACK_PER_GROUP = 12  # tracked samples per group and run (the trajectories' lines)


class LiveRecords(Callback):
    """Per-run partial history and tracked-sample weights, safe to read from another thread.

    Runs are told apart by their config (``on_start``/``StepRecord.config``); an earlier
    stage of a multi-stage scheme starts the records of its run afresh.
    """

    def __init__(self, group_names: list[str], class_names: list[str], task: str,
                 points: int = 300):
        self.groups, self.classes = list(group_names), [str(c) for c in class_names]
        self.task, self.points = task, points
        self.lock = threading.Lock()
        self.every: dict = {}  # config -> keep every k-th step
        self.total: dict = {}  # config -> total steps of its current stage
        self.steps: dict = {}  # config -> steps done
        self.rows: dict = {}  # config -> list of history column arrays
        self.evals: dict = {}  # config -> list of eval row dicts
        self.samples: dict = {}  # config -> list of weight-frame column arrays
        self.tracked: dict = {}  # config -> {position: True}
        self.generation: dict = {}  # config -> how many times its records started afresh
        self.stop_requested = False

    # ---- callback events (training thread) ----------------------------------------------
    @staticmethod
    def run_id(config) -> tuple:
        """(label, seed): a run of the comparison (configs hold dicts: not hashable)."""
        return (getattr(config, "label", str(config)), getattr(config, "seed", 0))

    def on_start(self, total_steps: int, config) -> None:
        config = self.run_id(config)
        with self.lock:
            self.every[config] = max(1, total_steps // self.points)
            self.total[config], self.steps[config] = total_steps, 0
            self.rows[config], self.evals[config], self.samples[config] = [], [], []
            self.tracked[config] = {}
            self.generation[config] = self.generation.get(config, 0) + 1

    def on_step(self, rec) -> None:
        cfg = self.run_id(rec.config)
        if cfg not in self.every:
            return
        self.steps[cfg] = rec.step + 1
        if rec.step % self.every[cfg]:
            return
        g, w, loss = (rec.g.cpu().numpy(), rec.weights.cpu().numpy(),
                      rec.losses.cpu().numpy())
        if loss.ndim > 1:  # lm: one loss per token
            loss = loss.reshape(len(loss), -1).mean(1)
            w = w.reshape(len(w), -1).mean(1) if w.ndim > 1 else w
        parts = [self._per_key(rec.step, g, w, loss, self.groups, "group")]
        if self.task == "classification":
            y = rec.y.cpu().numpy()
            parts.append(self._per_key(rec.step, y, w, loss, self.classes, "class"))
        ess = float(w.sum() ** 2 / max(float((w * w).sum()), 1e-30) / len(w))
        parts.append((np.array([rec.step] * 2), np.array(["all", "all"], dtype=object),
                      np.array(["ess", "loss"], dtype=object), np.array([ess, loss.mean()]),
                      np.array(["all", "all"], dtype=object)))
        samples = self._tracked(cfg, rec.idx.cpu().numpy(), g, w, loss, rec)
        with self.lock:
            self.rows[cfg].extend(parts)
            if samples is not None:
                self.samples[cfg].append(samples)

    def on_eval(self, step: int, epoch: int, rows: list[dict], config=None) -> None:
        config = self.run_id(config)
        if config in self.evals:
            with self.lock:
                self.evals[config].extend(rows)

    # ---- helpers ----------------------------------------------------------------------
    @staticmethod
    def _per_key(step, keys, w, loss, names, level):
        """share, loss and weight of each present key, as (step, group, metric, value, level)."""
        n = len(names)
        count = np.bincount(keys, minlength=n).astype(float)
        present = np.flatnonzero(count > 0)
        sums = {"loss": np.bincount(keys, loss, minlength=n), "weight":
                np.bincount(keys, w, minlength=n)}
        groups, metrics, values = [], [], []
        share = count / max(count.sum(), 1)
        for k in range(n):
            groups.append(names[k]), metrics.append("share"), values.append(share[k])
        for m, s in sums.items():
            for k in present:
                groups.append(names[k]), metrics.append(m), values.append(s[k] / count[k])
        return (np.full(len(values), step), np.array(groups, dtype=object),
                np.array(metrics, dtype=object), np.array(values, dtype=float),
                np.full(len(values), level, dtype=object))

    def _tracked(self, cfg, idx, g, w, loss, rec):
        """The batch's tracked samples (the first ``TRACK_PER_GROUP`` seen of each group)."""
        tracked = self.tracked[cfg]
        if len(tracked) < TRACK_PER_GROUP * len(self.groups):
            counts = np.bincount(np.array([t[1] for t in tracked.values()], dtype=np.int64),
                                 minlength=len(self.groups))
            for pos, grp in zip(idx.tolist(), g.tolist()):
                if pos not in tracked and counts[grp] < TRACK_PER_GROUP:
                    tracked[pos] = (True, grp)
                    counts[grp] += 1
        hit = np.array([p in tracked for p in idx.tolist()])
        if not hit.any():
            return None
        y = rec.y.cpu().numpy()
        label = y[hit] if y.ndim == 1 else np.zeros(int(hit.sum()), dtype=np.int64)
        return (np.full(int(hit.sum()), rec.step), idx[hit], label, g[hit], loss[hit], w[hit])

    # ---- another process's records (``wbui.worker``) -----------------------------------
    def delta(self, sent: dict) -> dict:
        """What was recorded since the last delta (``sent``: run -> (generation, rows,
        evals, samples) already sent; updated here), for :meth:`apply` in another process."""
        with self.lock:
            runs = {}
            for rid in self.every:
                gen = self.generation.get(rid, 0)
                old = sent.get(rid)
                n = (0, 0, 0) if old is None or old[0] != gen else old[1:]
                rows, evals, samples = self.rows[rid], self.evals[rid], self.samples[rid]
                runs[rid] = (gen, rows[n[0]:], evals[n[1]:], samples[n[2]:])
                sent[rid] = (gen, len(rows), len(evals), len(samples))
            return {"every": dict(self.every), "total": dict(self.total),
                    "steps": dict(self.steps), "runs": runs}

    def apply(self, delta: dict) -> None:
        """Add a :meth:`delta` made in the training process to these records."""
        with self.lock:
            self.every.update(delta["every"])
            self.total.update(delta["total"])
            self.steps.update(delta["steps"])
            for rid, (gen, rows, evals, samples) in delta["runs"].items():
                if self.generation.get(rid) != gen:  # a new stage started afresh
                    self.generation[rid] = gen
                    self.rows[rid], self.evals[rid], self.samples[rid] = [], [], []
                self.rows[rid].extend(rows)
                self.evals[rid].extend(evals)
                self.samples[rid].extend(samples)

    # ---- frames (any thread) ----------------------------------------------------------
    def progress(self) -> tuple[int, int]:
        """(steps done, steps in total) over the runs started so far."""
        with self.lock:
            return sum(self.steps.values()), sum(self.total.values())

    def history(self, config, spe: int) -> pd.DataFrame:
        """The run's partial history in the stored runs' columns."""
        config = self.run_id(config)
        with self.lock:
            parts, evals = list(self.rows.get(config, [])), list(self.evals.get(config, []))
        if not parts and not evals:
            return pd.DataFrame(columns=HISTORY_COLUMNS)
        frames = []
        if parts:
            step = np.concatenate([p[0] for p in parts])
            frames.append(pd.DataFrame({
                "step": step, "epoch": step // max(spe, 1), "split": "train_batch",
                "level": np.concatenate([p[4] for p in parts]),
                "group": np.concatenate([p[1] for p in parts]),
                "metric": np.concatenate([p[2] for p in parts]),
                "value": np.concatenate([p[3] for p in parts])}))
        if evals:
            frames.append(pd.DataFrame(evals))
        return pd.concat(frames, ignore_index=True)[HISTORY_COLUMNS]

    def weights(self, config, spe: int) -> pd.DataFrame:
        """The tracked samples' loss and weight so far (sample ids: training positions)."""
        config = self.run_id(config)
        with self.lock:
            parts = list(self.samples.get(config, []))
        if not parts:
            return pd.DataFrame(columns=WEIGHT_COLUMNS)
        step, pos, label, g, loss, w = (np.concatenate(c) for c in zip(*parts))
        return pd.DataFrame({"step": step, "epoch": step // max(spe, 1), "sample_id": pos,
                             "label": label, "group": np.asarray(self.groups, dtype=object)[g],
                             "noisy": False, "loss": loss, "weight": w})[WEIGHT_COLUMNS]

    def started(self) -> list:
        """(label, seed) of every run started so far."""
        with self.lock:
            return list(self.every)
