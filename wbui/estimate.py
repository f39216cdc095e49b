"""How long a comparison will take on this machine, said before Run.

Why: a teacher should know before pressing Run whether the answer comes in seconds or in
twenty minutes (``text_domains`` with its old defaults trained 18.4 min with no warning).
The estimate is the number of steps, which the configs fix (``ceil(n_train / batch_size)
* epochs`` per run, the training split's size from ``workbench.data.prepare.data_facts``),
times a per-step cost measured here: ``probe`` trains the first batch of the comparison
(every scheme of seed 0 as batched replicas, as the app trains it) for a few steps through
the real engine, stops it with a callback, and times the steps, the evaluations (when an
epoch is short enough to reach one) and the set-up; every other batch is taken to cost
the same. Probes are cached per process and
setting; after a comparison finished, ``learn`` keeps the ratio of the measured wall time to
the estimate per (data set, model), so later estimates follow what this machine did.

Example:
    >>> import workbench as wb
    >>> steps_per_run(wb.RunConfig(dataset="blobs2d", epochs=2, batch_size=100))  # 720 samples
    16
    >>> smaller_epochs(30, seconds=90.0)
    10
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass

from workbench.batched import plan_batches
from workbench.callbacks import Callback
from workbench.data.prepare import data_facts, load_prepared

TARGET_S = 30.0  # the budget a smaller-budget click aims at
WARN_S = 60.0  # above this the sidebar warns
SAVE_S = 0.15  # per run: finishing and writing it to the store (measured: 0.1-0.2 s)
PROBE_STEPS = 24  # steps per probe (the first two are warm-up, not timed)
PROBE_MAX_S = 2.0  # a probe stops after this long (after 1 s once 8 steps are timed)

_PROBES: dict[str, tuple[float, float, float]] = {}
_RATIO: dict[tuple[str, str], float] = {}  # (dataset, model) -> measured / estimated
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Estimate:
    seconds: float
    runs: int  # runs to train (the others are stored)
    steps: int  # steps per run
    per_step_s: float  # one step of one seed's batch (every scheme as replicas)

    def text(self) -> str:
        """'about 40 s here', 'about 3 min here'."""
        return f"about {duration(self.seconds)} here"


def duration(seconds: float) -> str:
    """40 -> '40 s', 185 -> '3 min', 7300 -> '2.0 h'.

    Example:
        >>> duration(4.2), duration(185), duration(7300)
        ('4 s', '3 min', '2.0 h')
    """
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def steps_per_run(cfg) -> int:
    """Optimiser steps of one run: ceil(n_train / batch_size) per epoch."""
    n_train = data_facts(cfg.dataset, cfg.dataset_params, cfg.imbalance, cfg.data_seed)[0]
    return math.ceil(max(n_train, 1) / cfg.batch_size) * cfg.epochs


def smaller_epochs(epochs: int, seconds: float, target: float = TARGET_S) -> int:
    """The epochs that bring an estimate of ``seconds`` to about ``target`` (at least 1)."""
    return max(1, int(epochs * target / max(seconds, 1e-9)))


class _Probe(Callback):
    """Times the steps and evaluations of a batch; stops it after ``steps`` steps."""

    def __init__(self, steps: int, max_s: float):
        self.steps, self.max_s = steps, max_s
        self.t0 = time.perf_counter()
        self.times: dict[int, float] = {}  # step -> when its last replica's event came
        self.evals: list[float] = []  # seconds from a last step to its evaluation

    def on_step(self, rec) -> None:
        now = time.perf_counter()
        self.times[rec.step] = now
        spent = now - self.times[min(self.times)]
        if rec.step >= self.steps or spent > self.max_s or rec.step >= 8 and spent > 1.0:
            self.stop_requested = True

    def on_eval(self, step, epoch, rows, config=None) -> None:
        if step - 1 in self.times and len(self.evals) < step:
            self.evals.append(time.perf_counter() - self.times[step - 1])


def probe(configs: list) -> tuple[float, float, float]:
    """(seconds per step, seconds per evaluation, set-up seconds) of training ``configs``
    together (the seed-0 batch), measured by running them briefly; cached per setting.

    Per step: the mean gap between consecutive steps of an epoch after two warm-up steps
    (an evaluation's gap is left out and timed on its own when an epoch is short enough
    to reach it; otherwise taken as a forward pass over every split, about half a step per
    batch of samples)."""
    key = json.dumps([c.replace(epochs=1).to_dict() for c in configs], sort_keys=True)
    with _LOCK:
        if key in _PROBES:
            return _PROBES[key]
    from workbench.engine import train_many

    _warm_up(train_many)
    c = configs[0]
    spe = math.ceil(steps_per_run(c) / c.epochs)
    epochs = min(c.epochs, math.ceil((PROBE_STEPS + 1) / spe))
    cb = _Probe(PROBE_STEPS, PROBE_MAX_S)
    train_many([k.replace(epochs=epochs) for k in configs], callbacks=[cb])
    steps = sorted(cb.times)
    gaps = [cb.times[s] - cb.times[s - 1] for s in steps
            if s >= 3 and s - 1 in cb.times and s % spe]
    per_step = sum(gaps) / len(gaps) if gaps else \
        (time.perf_counter() - cb.t0) / max(len(steps), 1)
    setup = cb.times[steps[0]] - cb.t0 - per_step if steps else 0.0
    if cb.evals:
        eval_s = sorted(cb.evals)[len(cb.evals) // 2]
    else:
        _, data = load_prepared(c.dataset, c.dataset_params, c.imbalance, c.data_seed)
        n_all = len(data.train) + len(data.val) + len(data.test)
        eval_s = 0.5 * per_step * n_all / c.batch_size
    out = (per_step, eval_s, max(setup, 0.0))
    with _LOCK:
        _PROBES[key] = out
    return out


def _warm_up(train_many) -> None:
    """Pay torch's one-time costs (first graph, first optimiser step: seconds in a fresh
    process) on a tiny run, so that no probe counts them as a per-batch set-up."""
    global _WARM
    if not _WARM:
        from workbench.config import RunConfig

        train_many([RunConfig(dataset="blobs2d", dataset_params={"n_per_class": 20},
                              batch_size=16, epochs=1, track=0)])
        _WARM = True


_WARM = False


def estimate(configs: list, stored: set[int] = frozenset()) -> Estimate:
    """Seconds to train ``configs`` (those at positions ``stored`` are loaded, not trained),
    one batch per seed as the app trains them."""
    todo = [c for i, c in enumerate(configs) if i not in stored]
    if not todo:
        return Estimate(0.0, 0, 0, 0.0)
    batches = plan_batches(todo, by=lambda c: c.seed)
    per_step, eval_s, setup = probe([todo[i] for i in batches[0]])  # the others: alike
    total = 0.0
    for b in batches:
        cfg = todo[b[0]]
        total += setup + steps_per_run(cfg) * per_step + cfg.epochs // cfg.eval_every * eval_s
    total += SAVE_S * len(todo)
    c = todo[0]
    total *= _RATIO.get((c.dataset, c.model), 1.0)
    return Estimate(total, len(todo), steps_per_run(c), per_step)


def learn(job) -> None:
    """After a job that trained every run it set out to: move the (data set, model)
    correction halfway (geometrically) to measured / estimated, within [0.5, 3]. Jobs
    estimated under 5 s are skipped: fixed costs dominate them and would mislead."""
    est = getattr(job, "estimate", None)
    if not est or est.seconds < 5 or job.failure or job.cancelled or job.trained < est.runs:
        return
    wall = (job.ended or time.perf_counter()) - job.started
    c = job.configs[0]
    with _LOCK:
        old = _RATIO.get((c.dataset, c.model), 1.0)
        new = old * math.sqrt(wall / est.seconds)
        _RATIO[(c.dataset, c.model)] = min(3.0, max(0.5, new))
