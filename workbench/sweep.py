"""``sweep``: one base config over a grid of settings and seeds, on one machine or many.

Why: a finding such as "class weighting helps more as the imbalance grows" is a curve, not
a point, and its error bars come from seeds. ``sweep`` expands the grid (dotted paths into
``RunConfig.to_dict()``, see ``workbench.sweep_grid``), validates every config before
anything trains, groups compatible configs into batched-replica batches and trains the
batches in this process (the default), in a pool of processes (``backend="local"``,
``workers > 1``) or as Ray tasks
(``backend="ray"``, ``pip install 'workbench[ray]'``; see ``workbench.sweep_backends``
for what a cluster must share). Every run lands in the run store, keyed by its full
config and code, so a sweep started again after an interruption trains only the runs
that are missing (``force=True`` retrains all).

``Sweep.table`` has one row per grid point, scheme and metric: the swept values as
columns (the scheme appears as its label in ``scheme``, e.g. ``linupper(r=0.5)``), then
metric, mean, std and the 95% t-interval over seeds as in ``compare``.

Example:
    >>> import tempfile, workbench as wb
    >>> from workbench.store import RunStore
    >>> sw = sweep(wb.RunConfig(dataset="blobs2d", epochs=1, model="linear",
    ...                         imbalance=[{"kind": "longtail", "ratio": 2}]),
    ...            grid={"imbalance.0.ratio": [1, 5], "scheme": ["uniform", "linupper"]},
    ...            seeds=[0, 1], store=RunStore(tempfile.mkdtemp()), workers=1)
    >>> len(sw.runs), sw.info["trained"]
    (8, 8)
    >>> list(sw.table.columns[:3])
    ['imbalance.0.ratio', 'scheme', 'metric']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .compare import TABLE_COLUMNS, combine, interval_table
from .config import RunConfig
from .run import Run
from .sweep_backends import check_versions, make_batches, run_batches
from .sweep_grid import expand_grid


@dataclass
class Sweep:
    """Configs of a sweep, their runs (same order) and the swept values of each."""

    base: RunConfig
    grid: dict
    seeds: list[int]
    configs: list[RunConfig]
    values: list[dict]
    runs: list[Run] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    @property
    def paths(self) -> list[str]:
        """Swept paths shown as columns (``scheme`` is shown by the label column)."""
        return [p for p in self.grid if p != "scheme"]

    def _swept(self, i: int) -> dict:
        return {p: self.values[i][p] for p in self.paths}

    @property
    def summaries(self) -> pd.DataFrame:
        """One row per run: swept values, scheme label, seed, status, key, summary metrics."""
        return pd.DataFrame([{**self._swept(i), "scheme": r.label, "seed": r.config.seed,
                              "status": r.status, "key": r.key, **r.summary}
                             for i, r in enumerate(self.runs)])

    @property
    def table(self) -> pd.DataFrame:
        """Swept values, scheme, metric, mean, std, ci_low, ci_high, n (finished runs)."""
        columns = [*self.paths, *TABLE_COLUMNS]
        points: dict[str, int] = {}
        heads, rows = [], []
        for i, r in enumerate(self.runs):
            if r.status != "done":
                continue
            head = {**self._swept(i), "scheme": r.label}
            ident = json.dumps(head, sort_keys=True, default=str)
            if ident not in points:
                points[ident] = len(points)
                heads.append(head)
            rows.append({"_point": points[ident], "seed": r.config.seed, **r.summary})
        if not rows:
            return pd.DataFrame(columns=columns)
        stats = interval_table(pd.DataFrame(rows), by="_point")
        head = pd.DataFrame([heads[p] for p in stats["_point"]], index=stats.index,
                            columns=[*self.paths, "scheme"])
        return pd.concat([head, stats.drop(columns=["_point", "scheme"], errors="ignore")],
                         axis=1)[columns]

    def frame(self, name: str) -> pd.DataFrame:
        """One frame ("history", "weights", ...) of every run with scheme, seed, key and
        the swept values as columns (a swept path named like a frame column is left out)."""
        df = combine(self.runs, name)
        by_key = {r.key: self._swept(i) for i, r in enumerate(self.runs)}
        for p in self.paths:
            if p not in df.columns:
                df.insert(3, p, [by_key.get(k, {}).get(p) for k in df["key"]])
        return df

    def figure(self, x: str | None = None, metric: str = "balanced_accuracy"):
        """``metric`` against the swept value ``x`` (default: the first swept path that is
        not a scheme setting), a line per scheme with a 95% band over seeds, a dot per run."""
        from .figures.sweep import sweep_lines

        return sweep_lines(self.table, x=x, metric=metric, points=self.summaries,
                           config=self.base)

    def __repr__(self) -> str:
        return (f"Sweep({len(self.configs)} configs over {', '.join(self.grid) or 'no grid'}; "
                f"seeds {self.seeds}; {self.info.get('trained', 0)} trained)")


def sweep(base_config: RunConfig, grid: dict | None = None, seeds: Any = (0,),
          backend: str = "local", store: Any = None, force: bool = False,
          workers: int | str | None = None, address: str | None = None,
          progress: bool = False, callbacks: list | tuple = ()) -> Sweep:
    """Train ``base_config`` over ``grid`` x ``seeds`` into the run store; a ``Sweep``.

    ``grid``: dotted path -> list of values (``workbench.sweep_grid``); ``seeds``: training
    seeds. ``backend``: "local" trains the batches in this process (the default,
    ``workers=None`` or 1: a script or notebook needs no ``if __name__ == "__main__":``
    guard) or in ``workers`` spawned processes (``workers > 1``, or "auto" for min(CPUs,
    batches); one torch thread each; a script then needs the guard), and "ray" runs each
    batch as a Ray task on the cluster at ``address`` (default: a local Ray instance with
    ``workers`` CPUs, started and shut down here; an instance already running is used and
    left on).
    ``store``: a ``RunStore`` (default ``RunStore()``) whose root every worker sees; runs
    already stored are loaded, not trained, unless ``force``. ``progress``: a tqdm bar
    over finished batches. ``Sweep.info`` says what was trained and loaded.

    ``callbacks`` (``workbench.Callback``) see every run the sweep trains, with the same
    events as ``wb.train`` and ``wb.compare``. With ``workers=1`` they run in this process;
    in a process pool or on Ray each worker calls its own pickled copy (events do not come
    back to the objects here: write to a file or a tracker from the callback instead).
    """
    from .store import RunStore

    if workers == "auto":
        workers = None  # run_batches: min(CPUs, batches)
    elif workers is None and backend == "local":
        workers = 1  # in this process: no worker start-up, no __main__ guard needed
    configs, values = expand_grid(base_config, grid or {}, seeds)
    store = store if store is not None else RunStore()
    runs = [None if force else store.get(c) for c in configs]
    todo = [c for c, r in zip(configs, runs) if r is None]
    batches = make_batches(todo)
    info = run_batches(batches, str(store.root), store._code_version, backend=backend,
                       workers=workers, address=address, force=force, progress=progress,
                       callbacks=callbacks)
    check_versions(info, store.code_version)
    fresh = {_ident(c): k for b, keys in zip(batches, info["keys"]) for c, k in zip(b, keys)}
    runs = [r if r is not None else store.load(fresh[_ident(c)]) for c, r in zip(configs, runs)]
    info = {k: v for k, v in info.items() if k not in ("keys", "versions")}
    info.update(trained=len(todo), loaded=len(configs) - len(todo), store=str(store.root))
    seeds = list(dict.fromkeys(c.seed for c in configs))
    return Sweep(base_config, dict(grid or {}), seeds, configs, values, runs, info)


def _ident(cfg: RunConfig) -> str:
    return json.dumps(cfg.to_dict(), sort_keys=True)
