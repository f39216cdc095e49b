"""Where a sweep's batches train: this process, a local process pool, or a Ray cluster.

A batch is a list of configs that ``batched.plan_batches`` says can share one training
loop (at most ``MAX_REPLICAS``; a config that cannot be a replica is a batch of its own).
Every backend runs :func:`train_batch` on each batch: it opens ``RunStore(root)``, calls
``store.train_many`` (stored runs are loaded, the others trained and saved) and returns
the store keys; the caller loads the runs from the store, which is cheap. So results land
in the store whichever backend ran them, and a sweep started again after an interruption
trains only what is missing.

What workers must share with the caller (the part to get right on a real cluster):

* the store root, as one path that every node sees (a shared filesystem). The store's
  SQLite index runs in WAL mode, which wants a local disk or a file system with working
  POSIX locks; on NFS, put the store on a node-local disk and run one node, or make sure
  locking works.
* the same workbench code: a store key includes a hash of the package's source, so a
  worker with other code stores its runs under other keys (``run_batches`` warns).

The local pool uses the ``spawn`` start method (safe in threaded parents such as the
Streamlit app, and the same on every OS), so a script that calls ``sweep`` with
``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard.

Example:
    >>> import tempfile
    >>> from workbench.config import RunConfig
    >>> cfgs = [RunConfig(dataset="blobs2d", epochs=1, model="linear", scheme=s)
    ...         for s in ("uniform", "jtt")]
    >>> [len(b) for b in make_batches(cfgs)]   # jtt has two stages: a batch of its own
    [1, 1]
    >>> keys, version = train_batch(tempfile.mkdtemp(), None, [c.to_dict() for c in cfgs])
    >>> len(keys)
    2
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable, Iterator

from .batched import MAX_REPLICAS, plan_batches
from .config import RunConfig
from .registry import check
from .threads import ENV as THREADS_ENV

BACKENDS = ("local", "ray")
RAY_HINT = "backend='ray' needs Ray: pip install 'workbench[ray]'"


def make_batches(configs: list[RunConfig]) -> list[list[RunConfig]]:
    """The configs of each batch of ``batched.plan_batches`` (chunks of MAX_REPLICAS)."""
    return [[configs[i] for i in batch] for batch in plan_batches(configs, MAX_REPLICAS)]


def train_batch(root: str, code_version: str | None, configs: list[dict], force: bool = False,
                threads: int | None = None, callbacks: list | tuple = ()
                ) -> tuple[list[str], str]:
    """Train (or load) one batch into the store at ``root``; (store keys, code version).

    ``callbacks`` see every run this batch trains (``engine.train_many``); in a worker
    process they are the worker's own copies (pickled with the job)."""
    from .store import RunStore

    if threads:  # this worker's thread policy (``workbench.threads``)
        os.environ[THREADS_ENV] = str(threads)
    store = RunStore(root, code_version=code_version)
    runs = store.train_many([RunConfig.from_dict(d) for d in configs], force=force,
                            callbacks=callbacks)
    return [r.key for r in runs], store.code_version


def _set_threads() -> None:
    import torch

    torch.set_num_threads(1)


def run_batches(batches: list[list[RunConfig]], root: str, code_version: str | None,
                backend: str = "local", workers: int | None = None, address: str | None = None,
                force: bool = False, progress: bool = False, callbacks: list | tuple = ()
                ) -> dict:
    """Train every batch with ``backend``; ``{"keys": [...] per batch, ...}`` (in order)."""
    check(backend in BACKENDS, f"unknown backend {backend!r}; valid backends: "
                               f"{', '.join(BACKENDS)}")
    check(workers is None or (isinstance(workers, int) and not isinstance(workers, bool)
                              and workers >= 1),
          f"workers must be an integer >= 1 or None, got {workers!r}")
    check(address is None or backend == "ray",
          f"address={address!r} is a Ray cluster address; use it with backend='ray'")
    n = len(batches)
    workers = workers or max(1, min(os.cpu_count() or 1, n))
    info = {"backend": backend, "workers": workers, "batches": n, "keys": [None] * n,
            "versions": set()}
    if n == 0:
        return info
    jobs = [[c.to_dict() for c in b] for b in batches]
    bar = _bar(n, progress)
    started = time.perf_counter()
    try:
        if backend == "ray":
            _run_ray(jobs, root, code_version, force, workers, address, info, bar, callbacks)
        elif workers == 1:
            _gather(((i, lambda job=job: train_batch(root, code_version, job, force,
                                                     callbacks=callbacks))
                     for i, job in enumerate(jobs)), info, bar, n)
        else:
            _run_pool(jobs, root, code_version, force, workers, info, bar, callbacks)
    finally:
        if bar is not None:
            bar.close()
    info["wall_s"] = time.perf_counter() - started
    return info


def _bar(n: int, progress: bool):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=n, desc="sweep", unit="batch")


def _record(info: dict, i: int, result: tuple[list[str], str], bar) -> None:
    info["keys"][i], version = result
    info["versions"].add(version)
    if bar is not None:
        bar.update(1)


def _gather(finished: Iterator[tuple[int, Callable]], info: dict, bar, n: int) -> None:
    """Record batches as they finish; the first failure is raised once all have finished."""
    errors = []
    for i, result in finished:
        try:
            _record(info, i, result(), bar)
        except Exception as err:  # noqa: BLE001 - re-raised below with the count
            errors.append(err)
    broken = [e for e in errors if isinstance(e, cf.process.BrokenProcessPool)]
    if broken:
        raise RuntimeError(f"a sweep worker process died ({broken[0]}); the workers start "
                           "with 'spawn', so a script must call sweep under "
                           "`if __name__ == '__main__':`; workers=1 trains in this "
                           "process") from broken[0]
    if errors:
        raise RuntimeError(f"{len(errors)} of {n} sweep batches failed (the others are "
                           f"stored); first error: {errors[0]}") from errors[0]


def _run_pool(jobs, root, code_version, force, workers, info, bar, callbacks) -> None:
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                initializer=_set_threads) as pool:
        futures = {pool.submit(train_batch, root, code_version, job, force, 1, callbacks): i
                   for i, job in enumerate(jobs)}
        _gather(((futures[f], f.result) for f in cf.as_completed(futures)), info, bar,
                len(jobs))


def _run_ray(jobs, root, code_version, force, workers, address, info, bar, callbacks) -> None:
    try:
        import ray
    except ImportError:
        raise ValueError(RAY_HINT) from None
    started = not ray.is_initialized()
    if started:
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        kw = {"address": address} if address else {
            "num_cpus": workers, "object_store_memory": 256 * 1024**2}
        ray.init(include_dashboard=False, logging_level="WARNING", **kw)
    try:
        task = ray.remote(num_cpus=1)(train_batch)
        refs = {task.remote(root, code_version, job, force, 1, callbacks): i
                for i, job in enumerate(jobs)}

        def finished():
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                yield refs[ready[0]], lambda r=ready[0]: ray.get(r)

        _gather(finished(), info, bar, len(jobs))
    finally:
        if started:
            ray.shutdown()


def check_versions(info: dict, version: str) -> None:
    """Warn when workers stored runs under another code version than this process has."""
    other = sorted(v for v in info.get("versions", ()) if v != version)
    if other:
        warnings.warn(f"sweep workers ran other workbench code (version {', '.join(other)}; "
                      f"this process: {version}): their runs are stored under their own keys. "
                      "Install the same code on every worker.", stacklevel=3)
