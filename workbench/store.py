"""The run store: every run is saved, indexed in SQLite, and found again by its config.

A run's key is ``cfg.key(code_version())``: the full config plus the package version and a
hash of its source, so changed code never reuses stale results. On disk under ``root``::

    index.sqlite            one row per key: status, config, summary, pid, host, ...
    runs/<key>/meta.json    config, summary, info, status, diverged_step, message, frames
    runs/<key>/*.parquet    history, weights, predictions, boundary (the model is never kept)
    tmp/                    writes in progress; leftovers of killed writers, cleaned after 1 h

Why it is safe:

* Files first, index second. ``save`` writes into ``tmp/``, fsyncs, renames the directory
  into place (``store_io``), and only then commits the index row, in one SQLite transaction
  that also holds the write lock across the rename, so two writers of one key take turns
  and leave one complete entry. A writer killed at any point leaves the old complete entry
  or nothing: ``get``/``load`` read ``meta.json`` and check every file it lists, and
  ``list`` shows an indexed run whose files are gone as ``failed`` ("broken").
* SQLite runs in WAL mode with a 30 s busy timeout, and every operation opens its own short
  connection, so processes (CLI, notebooks) and Streamlit threads share one store; WAL needs
  a local disk, not a network share.
* ``train`` marks a key ``running`` with its pid and host; a crash leaves that row, and
  ``list`` shows it as ``failed`` once the pid is gone on this host. Cancelled runs are not
  kept, so they are never cache hits; failures are kept with their message.

Example:
    >>> import tempfile, workbench as wb
    >>> store = RunStore(tempfile.mkdtemp())
    >>> cfg = wb.RunConfig(dataset="blobs2d", epochs=1, model="linear")
    >>> run = store.train(cfg)                   # trained and saved
    >>> store.train(cfg).summary == run.summary  # loaded, not trained
    True
    >>> list(store.list()[["label", "status"]].iloc[0])
    ['uniform', 'done']
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from . import store_io
from .compare import Comparison
from .config import RunConfig
from .data.fingerprint import data_fingerprint
from .engine import train_many
from .params import ConfigError
from .registry import check
from .run import Run

FINISHED = ("done", "diverged")
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class RunStore:
    def __init__(self, root: str | Path | None = None, code_version: str | None = None):
        """``root``: default ``$WORKBENCH_STORE``, else ``<project>/runs``. ``code_version``
        pins the version keys are made with (tests; reading runs of older code)."""
        self.root = store_io.default_root(root)
        self._code_version = code_version
        self.tmp = self.root / "tmp"
        try:
            for d in (self.root / "runs", self.tmp):
                d.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as err:
            # name the user's path (or the file above it), not the sub-folder we tried
            blocker = next((p for p in (*reversed(self.root.parents), self.root)
                            if p.exists() and not p.is_dir()), Path(err.filename))
            raise ValueError(f"run store {self.root} must be a folder, but {blocker} is a "
                             "file; point --store or WORKBENCH_STORE at a folder") from None
        except OSError as err:
            raise ValueError(f"cannot use {self.root} as the run store: {err.strerror} "
                             f"({err.filename})") from None
        self.index_path = self.root / "index.sqlite"
        fresh = not self.index_path.exists()
        with self._db() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(store_io.SCHEMA)
            con.execute("CREATE INDEX IF NOT EXISTS runs_created ON runs (created)")
        if fresh:
            self._reindex()
        store_io.clean_tmp(self.tmp)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.index_path, timeout=30.0, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout = 30000")
            yield con
        except sqlite3.OperationalError:
            raise  # locked, disk full, ...: said as it is
        except sqlite3.DatabaseError as err:  # not a database, malformed: never guess, say it
            p = self.index_path
            raise ValueError(
                f"the run store's index {p} is damaged ({err}); move it aside "
                f"(mv {p} {p}.damaged) and run again: a new index is built from the runs in "
                f"{self.root / 'runs'}, which are kept") from None
        finally:
            con.close()

    def _reindex(self) -> int:
        """Index every complete run directory (a new index beside existing runs, e.g. after
        a damaged index was moved aside); returns how many were indexed."""
        n = 0
        for path in sorted((self.root / "runs").iterdir()):
            if not _KEY.fullmatch(path.name):
                continue
            try:
                meta = store_io.read_meta(path)  # frames are checked when a run is loaded
                cfg = RunConfig.from_dict(meta["config"])
            except (store_io.BrokenEntry, ValueError, TypeError, KeyError):
                continue  # not a complete run: left as it is, not indexed
            with self._db() as con:
                self._upsert(con, path.name, cfg, meta["status"], meta.get("summary"),
                             meta.get("message", ""), meta.get("info", {}).get("runtime_s"),
                             meta.get("code_version", ""))
                con.execute("UPDATE runs SET created = ?, updated = ? WHERE key = ?",
                            (meta.get("saved"), meta.get("saved"), path.name))
            n += 1
        return n

    def _dir(self, key: str) -> Path:
        check(isinstance(key, str) and _KEY.fullmatch(key) is not None,
              f"no stored run with key {key!r}: not a store key")
        return self.root / "runs" / key

    def _row(self, key: str) -> dict | None:
        with self._db() as con:
            cur = con.execute("SELECT * FROM runs WHERE key = ?", (key,))
            row = cur.fetchone()
            return None if row is None else dict(zip([d[0] for d in cur.description], row))

    def _upsert(self, con, key: str, cfg: RunConfig, status: str, summary: dict | None = None,
                message: str = "", runtime_s: float | None = None, version: str = "") -> None:
        now = store_io.now()
        con.execute(store_io.UPSERT, (
            key, now, now, status, cfg.dataset, cfg.scheme, cfg.label, cfg.seed, cfg.model,
            cfg.epochs, store_io.dumps(cfg.imbalance), store_io.dumps(cfg.to_dict()),
            store_io.dumps(summary or {}), message, runtime_s, os.getpid(), store_io.HOST,
            version or self.code_version))

    # ---- keys and lookups -----------------------------------------------------------
    @property
    def code_version(self) -> str:
        return self._code_version or store_io.code_version()

    def key(self, cfg: RunConfig) -> str:
        """The config, the code version and the content of every file the run reads (a CSV
        edited in place gets a new key, so its old run is never served)."""
        return cfg.key(self.code_version, data_fingerprint(cfg.dataset, cfg.dataset_params))

    def get(self, cfg: RunConfig) -> Run | None:
        """The finished (done or diverged) run of ``cfg``, or None: not stored, still
        running, failed, or its files are broken."""
        key = self.key(cfg)
        row = self._row(key)
        if row is None or row["status"] not in FINISHED:
            return None
        try:
            run = self.load(key)
        except ValueError:
            return None
        return run if run.status in FINISHED else None

    def load(self, key: str) -> Run:
        """The stored run ``key`` (``Run.config`` a RunConfig, ``model`` None)."""
        path = self._dir(key)
        if self._row(key) is None:
            raise ValueError(f"no stored run with key {key!r}; RunStore.list() shows the "
                             f"stored runs in {self.root}")
        try:
            meta, frames = store_io.read_run_dir(path)
        except store_io.BrokenEntry as err:
            raise ValueError(f"stored run {key!r} is broken or was never completed ({err}); "
                             "delete it or train it again") from err
        return Run(config=RunConfig.from_dict(meta["config"]), status=meta["status"],
                   summary=meta.get("summary", {}), info=meta.get("info", {}),
                   diverged_step=meta.get("diverged_step"), message=meta.get("message", ""),
                   key=key, **{n: frames.get(n, pd.DataFrame()) for n in Run.FRAMES})

    def load_many(self, keys: Iterable[str]) -> list[Run]:
        return [self.load(k) for k in keys]

    def comparison(self, keys: Iterable[str]) -> Comparison:
        """Stored runs as a ``Comparison`` (config of the first run), as ``compare`` gives."""
        runs = self.load_many(keys)
        check(len(runs) > 0, "comparison needs at least one key")
        experiments = {r.config.experiment() for r in runs}
        check(len(experiments) == 1,
              f"these {len(runs)} runs belong to {len(experiments)} experiments (they differ in "
              "more than scheme, scheme parameters and seed); a comparison pools the seeds of "
              "one experiment: pass the keys of one at a time (RunStore.list()['experiment'])")
        return Comparison(runs[0].config, runs)

    # ---- writing --------------------------------------------------------------------
    def save(self, run: Run) -> str:
        """Store ``run`` (files, then the index row); sets and returns ``run.key``."""
        key = run.key or self.key(run.config)
        final = self._dir(key)
        work, aside = self.tmp / f"{key}-{uuid.uuid4().hex}", None
        meta = {"key": key, "code_version": self.code_version, "saved": store_io.now(),
                "config": run.config.to_dict(), "status": run.status, "summary": run.summary,
                "info": run.info, "diverged_step": run.diverged_step, "message": run.message}
        try:
            store_io.write_run_dir(work, meta, {n: getattr(run, n) for n in Run.FRAMES})
            with self._db() as con:
                con.execute("BEGIN IMMEDIATE")  # the write lock, held across the rename
                try:
                    aside = store_io.swap_into_place(work, final, self.tmp)
                    store_io.crash_point("before_commit")
                    self._upsert(con, key, run.config, run.status, run.summary, run.message,
                                 run.info.get("runtime_s"), meta["code_version"])
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
        finally:
            store_io.remove_tree(work if work.exists() else None)
        store_io.remove_tree(aside)
        run.key = key
        return key

    def train(self, cfg: RunConfig, force: bool = False, callbacks=(), progress: bool = False
              ) -> Run:
        """The stored run of ``cfg`` if there is one (unless ``force``), else train and save.

        An exception marks the key ``failed`` with its message and is re-raised; a cancelled
        run (or Ctrl-C) is returned unsaved and its ``running`` row removed.
        """
        if progress:
            from .callbacks import TqdmProgress

            callbacks = [*callbacks, TqdmProgress(cfg.label)]
        return self.train_many([cfg], force=force, callbacks=callbacks, batched=False)[0]

    def train_many(self, cfgs: list[RunConfig], force: bool = False, callbacks=(),
                   batched: bool = True) -> list[Run]:
        """``train`` for several configs: stored ones are loaded, the others trained together
        (batched replicas where compatible, ``workbench.engine.train_many``) and saved."""
        cfgs = [c.validate() for c in cfgs]  # a bad config raises before any row is written
        runs = [None if force else self.get(c) for c in cfgs]
        todo = [i for i, r in enumerate(runs) if r is None]
        keys = {i: self.key(cfgs[i]) for i in todo}
        with self._db() as con:
            for i in todo:
                self._upsert(con, keys[i], cfgs[i], "running")
        try:
            fresh = train_many([cfgs[i] for i in todo], callbacks=callbacks, batched=batched)
            for i, run in zip(todo, fresh):
                runs[i] = run
                if run.status != "cancelled":
                    run.key = keys[i]
                    self.save(run)
        except ConfigError:  # the config, not the run, was wrong: nothing to keep
            for i in todo:
                if runs[i] is None or not runs[i].key:
                    self._forget_running(keys[i])
            raise
        except Exception as err:  # training or saving: the rows say why, not 'running'
            with self._db() as con:
                for i in todo:
                    if runs[i] is None or not runs[i].key:
                        self._upsert(con, keys[i], cfgs[i], "failed",
                                     message=error_line(err))
            raise
        except BaseException:
            for i in todo:
                self._forget_running(keys[i])
            raise
        for i in todo:
            if runs[i].status == "cancelled":
                self._forget_running(keys[i])
        return runs

    def _forget_running(self, key: str) -> None:
        """Drop this process's ``running`` row; an older complete entry is indexed again."""
        with self._db() as con:
            con.execute("BEGIN IMMEDIATE")
            con.execute("DELETE FROM runs WHERE key = ? AND status = 'running' AND pid = ? "
                        "AND host = ?", (key, os.getpid(), store_io.HOST))
            try:
                meta = store_io.read_run_dir(self._dir(key))[0]
                if con.execute("SELECT 1 FROM runs WHERE key = ?", (key,)).fetchone() is None:
                    self._upsert(con, key, RunConfig.from_dict(meta["config"]), meta["status"],
                                 meta.get("summary"), meta.get("message", ""),
                                 meta.get("info", {}).get("runtime_s"), meta.get("code_version"))
            except store_io.BrokenEntry:
                pass  # nothing older to restore
            con.execute("COMMIT")

    def delete(self, key: str) -> None:
        """Remove the index row and the files of ``key``."""
        path = self._dir(key)
        aside = self.tmp / f"{key}-deleted-{uuid.uuid4().hex}"
        with self._db() as con:
            con.execute("BEGIN IMMEDIATE")
            gone = con.execute("DELETE FROM runs WHERE key = ?", (key,)).rowcount
            if path.exists():
                os.rename(path, aside)
                gone = 1
            con.execute("COMMIT")
        if not gone:
            raise ValueError(f"no stored run with key {key!r}")
        store_io.remove_tree(aside if aside.exists() else None)

    # ---- tables ---------------------------------------------------------------------
    def list(self, dataset=None, scheme=None, status=None) -> pd.DataFrame:
        """One row per run, newest first, summary metrics as columns; ``experiment`` is
        ``RunConfig.experiment()`` (runs that may be pooled share it). Filters take a value
        or a list; ``status`` filters the shown status (stale and broken rows: failed)."""
        where, args = [], []
        for col, val in (("dataset", dataset), ("scheme", scheme)):
            if val is not None:
                vals = [val] if isinstance(val, str) else list(val)
                where.append(f"{col} IN ({', '.join('?' * len(vals))})")
                args += vals
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        with self._db() as con:
            df = pd.read_sql_query(sql + " ORDER BY created DESC, key", con, params=args)
        for i, row in df.iterrows():
            here = row["host"] == store_io.HOST
            if row["status"] == "running" and here and not store_io.pid_alive(row["pid"]):
                df.loc[i, ["status", "message"]] = ["failed", f"stale: process {row['pid']} "
                                                    "ended without finishing the run"]
            elif row["status"] in ("done", "diverged", "cancelled") and not (
                    self.root / "runs" / row["key"] / store_io.META).is_file():
                df.loc[i, ["status", "message"]] = ["failed", "broken: the run's files are "
                                                    "missing; delete it or train it again"]
        if status is not None:
            df = df[df["status"].isin([status] if isinstance(status, str) else list(status))]
        df.insert(df.columns.get_loc("label"), "experiment",
                  [_experiment(c) for c in df["config"]])
        metrics = pd.DataFrame([json.loads(s) if s else {} for s in df["summary"]],
                               index=df.index)
        metrics = metrics[[c for c in metrics.columns if c not in df.columns]]
        return pd.concat([df.drop(columns=["summary"]), metrics], axis=1).reset_index(drop=True)

    def export_csv(self, keys: Iterable[str] | None = None) -> str:
        """CSV text of ``list()`` rows, all or those of ``keys`` (in that order)."""
        df = self.list()
        if keys is not None:
            keys = list(keys)
            unknown = sorted(set(keys) - set(df["key"]))
            check(not unknown, f"no stored run with key(s) {', '.join(unknown)}")
            df = df.set_index("key").loc[keys].reset_index()
        return df.to_csv(index=False)


def out_of_memory(err: BaseException) -> bool:
    """True for an allocation failure (torch raises RuntimeError or OutOfMemoryError)."""
    text = str(err).lower()
    return isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError" or (
        isinstance(err, RuntimeError) and ("can't allocate memory" in text
                                           or "out of memory" in text))


def error_line(err: BaseException) -> str:
    """One line that says what went wrong: a stored run's message, the CLI's error.

    Example:
        >>> error_line(RuntimeError("[enforce fail at alloc.cpp:1] data. "
        ...                         "DefaultCPUAllocator: can't allocate memory"))
        "out of memory: DefaultCPUAllocator: can't allocate memory"
    """
    lines = [s.strip() for s in str(err).splitlines() if s.strip()] or [type(err).__name__]
    line = lines[0]
    if out_of_memory(err):
        line = "out of memory: " + line.split("] ", 1)[-1].removeprefix("data. ").strip()
    return line


def _experiment(config_json: str) -> str:
    """``RunConfig.experiment()`` of an index row's config ("" if it cannot be read)."""
    try:
        return RunConfig.from_dict(json.loads(config_json)).experiment()
    except (ValueError, TypeError):
        return ""


_STORES: dict[Path, RunStore] = {}


def default_store(root: str | Path | None = None) -> RunStore:
    """One ``RunStore`` per root per process (root as in ``RunStore``)."""
    path = store_io.default_root(root)
    if path not in _STORES:
        _STORES[path] = RunStore(path)
    return _STORES[path]


def train_cached(cfg: RunConfig, force: bool = False, store: RunStore | None = None, **kw) -> Run:
    """``(store or default_store()).train(cfg, force, **kw)``: train once, load after."""
    return (store or default_store()).train(cfg, force=force, **kw)
