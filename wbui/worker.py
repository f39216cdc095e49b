"""Training in a process of its own, so the dashboard keeps its own core while it trains.

Why: a comparison trained in a thread of the Streamlit process shares Python's GIL with
the script runs that draw the live views. On 2 cores the redraws waited for the training
thread (the open view changed every 1.6-5.4 s instead of every second) and the training
waited for the redraws. Here each batch of runs trains in a worker process started once
(``spawn``: no fork of a process with threads), through the same ``RunStore.train_many``
and the same ``LiveRecords`` callback as in a thread: the worker's records are sent back
as deltas every ``SEND_EVERY`` seconds (``LiveRecords.delta``/``apply``), Cancel sets an
event the worker's callback reads, and only finished runs are stored, by the worker.

``WORKBENCH_APP_TRAINING=thread`` trains in a thread instead (tests that patch training
in-process; machines where processes cannot be spawned).

Example:
    >>> import tempfile, workbench as wb
    >>> from workbench.data.prepare import load_prepared
    >>> from workbench.store import RunStore
    >>> from wbui.live import LiveRecords
    >>> cfg = wb.RunConfig(dataset="blobs2d", epochs=1, model="linear")
    >>> data = load_prepared(cfg.dataset, cfg.dataset_params, cfg.imbalance, cfg.data_seed)[1]
    >>> rec = LiveRecords(data.group_names, data.class_names, data.task)
    >>> runs = train(RunStore(tempfile.mkdtemp()), [cfg], False, rec, cancelled=lambda: False)
    >>> [r.status for r in runs], len(rec.started()), rec.progress()[0] > 0
    (['done'], 1, True)
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import sys
import threading
import time
import types
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.managers import SyncManager

from workbench.callbacks import Callback

SEND_EVERY = 0.25  # seconds between two deltas of the worker's records
_LOCK = threading.Lock()
_STATE: dict = {}  # "pool", "manager": made once per process, on first use


def _spawned(make):
    """Start a process with no ``__main__`` to re-import: under Streamlit, ``__main__`` is
    the app script or the server's launcher, which a spawned child would run again."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        return make()
    finally:
        sys.modules["__main__"] = main


def _exit_with_parent() -> None:
    """In the worker and the manager: exit when the app's process is gone (a server killed
    with SIGKILL would otherwise leave both running; a normal stop ends them itself)."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="wb-exit-with-parent").start()


def _warm() -> None:
    """In the worker: import torch and the core and pay torch's one-time costs."""
    from wbui.estimate import _warm_up
    from workbench.engine import train_many

    _warm_up(train_many)


def start():
    """The worker process and the manager that carries the records (started once)."""
    with _LOCK:
        if "pool" not in _STATE:
            ctx = mp.get_context("spawn")
            manager = SyncManager(ctx=ctx)
            _spawned(lambda: manager.start(_exit_with_parent))
            _STATE["manager"] = manager
            pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx,
                                       initializer=_exit_with_parent)
            _STATE["warm"] = _spawned(lambda: pool.submit(_warm))  # the process starts now
            _STATE["pool"] = pool
        return _STATE["pool"], _STATE["manager"]


def wait_until_warm(timeout: float = 120) -> None:
    """Block until the worker has imported torch and the core (``scripts/serve.py`` opens
    its port only then, so the first Run does not wait for a cold worker)."""
    start()
    _STATE["warm"].result(timeout)


def _forget() -> None:
    with _LOCK:
        pool = _STATE.pop("pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


class Forwarder(Callback):
    """In the worker: keeps ``LiveRecords`` and sends what is new every ``SEND_EVERY`` s."""

    def __init__(self, records, box, stop):
        self.records, self.box, self.stop = records, box, stop
        self.sent: dict = {}
        self.last = 0.0

    @property
    def stop_requested(self) -> bool:
        return self.stop.is_set()

    def send(self, now: bool = False) -> None:
        if now or time.monotonic() - self.last >= SEND_EVERY:
            self.box.put(self.records.delta(self.sent))
            self.last = time.monotonic()

    def on_start(self, total_steps, config):
        self.records.on_start(total_steps, config)
        self.send(now=True)

    def on_step(self, rec):
        self.records.on_step(rec)
        self.send()

    def on_eval(self, step, epoch, rows, config=None):
        self.records.on_eval(step, epoch, rows, config)
        self.send()

    def on_end(self, run):
        self.send(now=True)


def train_batch(configs: list[dict], root: str, code_version: str, force: bool, meta: tuple,
                box, stop) -> list[types.SimpleNamespace]:
    """In the worker: train (or load) these configs through the store, sending records."""
    from workbench import RunConfig
    from workbench.store import RunStore

    from .live import LiveRecords

    fwd = Forwarder(LiveRecords(*meta), box, stop)
    runs = RunStore(root, code_version).train_many([RunConfig.from_dict(c) for c in configs],
                                                   force=force, callbacks=[fwd])
    fwd.send(now=True)
    return [types.SimpleNamespace(key=r.key, status=r.status) for r in runs]


def train(store, configs: list, force: bool, records, cancelled) -> list:
    """Train ``configs`` in the worker; its records are added to ``records`` as they come;
    ``cancelled()`` True asks it to stop after the current step. Returns (key, status)
    of each run; an error in the worker is raised here."""
    pool, manager = start()
    box, stop = manager.Queue(), manager.Event()
    meta = (records.groups, records.classes, records.task)
    try:
        future = pool.submit(train_batch, [c.to_dict() for c in configs], str(store.root),
                             store.code_version, force, meta, box, stop)
        while True:
            if cancelled() and not stop.is_set():
                stop.set()
            try:
                records.apply(box.get(timeout=0.1))
            except queue.Empty:
                if future.done():
                    break
        while True:  # what was sent after the last read
            try:
                records.apply(box.get_nowait())
            except queue.Empty:
                break
        return future.result()
    except BrokenProcessPool as err:
        _forget()
        raise RuntimeError("the training process ended unexpectedly (out of memory?); the "
                           "next Run starts a new one") from err
