"""The run store: round trips, cache hits, killed and concurrent writers, the index table."""

import dataclasses
import io
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import workbench as wb
from workbench import engine
from workbench.store import RunStore, train_cached
from workbench.store_io import CRASH_ENV

SMALL = dict(dataset="blobs2d", dataset_params={"n_per_class": 60}, epochs=2)
REPO = Path(wb.__file__).parents[1]
# A writer in its own process: saves a pickled run under seeds seed0.., message "new";
# with a go-file it waits for it first, so several writers really write at the same time.
WRITER = """
import dataclasses, os, pickle, sys, time
from workbench.store import RunStore, train_cached
root, version, path, n, seed0, go = sys.argv[1:7]
run = pickle.load(open(path, "rb"))
store = RunStore(root, code_version=version)
open(os.path.join(root, f"ready-{os.getpid()}"), "w").close()
while go != "-" and not os.path.exists(go):
    time.sleep(0.01)
i = 0
while int(n) < 0 or i < int(n):
    seed = int(seed0) + (i if int(n) > 0 else 0)
    store.save(dataclasses.replace(run, config=run.config.replace(seed=seed), key="",
                                   message="new"))
    if i % 3 == 0:  # one key written by every writer at once
        store.save(dataclasses.replace(run, config=run.config.replace(seed=999), key=""))
    i += 1
"""
TRAINER = """
import sys
import workbench as wb
from workbench.store import RunStore, train_cached
store = RunStore(sys.argv[1], code_version=sys.argv[2])
store.train(wb.RunConfig(dataset="blobs2d", dataset_params={"n_per_class": 60}, epochs=5000))
"""


@pytest.fixture(scope="module")
def base_run():
    return wb.train(wb.RunConfig(**SMALL))


@pytest.fixture(scope="module")
def pickled(base_run, tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "run.pkl"
    path.write_bytes(pickle.dumps(dataclasses.replace(base_run, model=None)))
    return str(path)


def spawn(script, *args, env=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(cond, timeout=120.0):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out waiting"
        time.sleep(0.02)


def assert_same_run(a, b):
    assert a.config == b.config and a.status == b.status and a.summary == b.summary
    assert a.info == b.info and a.diverged_step == b.diverged_step
    for name in wb.Run.FRAMES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_dtype=True)


def assert_consistent(store):
    """Every run that list() calls done loads completely; nothing else is returned."""
    for row in store.list().itertuples():
        if row.status == "done":
            assert store.load(row.key).status == "done"


def test_round_trip_keeps_config_summary_and_frames(tmp_path, base_run):
    store = RunStore(tmp_path)
    n = len(base_run.predictions)
    mixed = pd.Series(([1, "a", None, 2.5] * n)[:n], dtype=object)
    run = dataclasses.replace(base_run, model=None, key="",
                              history=base_run.history.astype({"group": object}),
                              predictions=base_run.predictions.assign(note=mixed))
    key = store.save(run)
    assert key == run.key == store.key(run.config)
    back = store.load(key)
    assert isinstance(back.config, wb.RunConfig) and back.model is None and back.key == key
    assert_same_run(back, run)
    assert back.predictions["note"].tolist()[:4] == [1, "a", None, 2.5]
    assert sorted(p.name for p in (tmp_path / "runs" / key).iterdir()) == sorted(
        [f"{name}.parquet" for name in wb.Run.FRAMES] + ["meta.json"])


def test_cache_hits_force_and_compare(tmp_path, monkeypatch):
    class Count(wb.Callback):
        n = 0

        def on_start(self, total_steps, config):
            Count.n += 1

    store, cfg = RunStore(tmp_path), wb.RunConfig(**SMALL)
    first = store.train(cfg, callbacks=[Count()])
    again = store.train(cfg, callbacks=[Count()])
    assert Count.n == 1 and again.key == first.key and again.summary == first.summary
    store.train(cfg, force=True, callbacks=[Count()])
    store.train(cfg.replace(seed=1), callbacks=[Count()])
    assert Count.n == 3
    schemes, seeds = ["uniform", "inverse_frequency"], [0, 1]
    cmp = wb.compare(cfg, schemes, seeds, store=store, callbacks=[Count()])
    # the two uniform runs were stored already; the two others train as one batch, and
    # on_start fires once for each of them
    assert Count.n == 5
    assert {r.info.get("execution") for r in cmp.runs[2:]} == {"batched (2 replicas)"}

    def no_training(*a, **k):
        raise AssertionError("trained although stored")

    monkeypatch.setattr(engine, "fit", no_training)  # the one training loop
    cached = wb.compare(cfg, schemes, seeds, store=store)
    pd.testing.assert_frame_equal(cached.table, cmp.table)
    again = store.comparison([r.key for r in cmp.runs])
    pd.testing.assert_frame_equal(again.frame("weights"), cmp.frame("weights"))
    assert train_cached(cfg, store=store).key == first.key


def test_diverged_runs_are_stored_and_returned(tmp_path):
    store = RunStore(tmp_path)
    cfg = wb.RunConfig(dataset="noisy_regression", optimizer="sgd", lr=10.0, model="linear",
                       epochs=3)
    run = store.train(cfg)
    got = store.get(cfg)
    assert run.status == got.status == "diverged" and got.diverged_step == run.diverged_step
    assert got.message == run.message and store.list()["status"].tolist() == ["diverged"]


def test_failed_and_cancelled_runs(tmp_path, monkeypatch):
    store, cfg = RunStore(tmp_path), wb.RunConfig(**SMALL)

    class Cancel(wb.Callback):
        def on_step(self, rec):
            self.stop_requested = True

    assert store.train(cfg, callbacks=[Cancel()]).status == "cancelled"
    assert store.list().empty and store.get(cfg) is None
    done = store.train(cfg)
    assert store.train(cfg, force=True, callbacks=[Cancel()]).status == "cancelled"
    assert store.get(cfg).summary == done.summary  # the older entry is kept

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "train", boom)
    with pytest.raises(RuntimeError, match="boom"):
        store.train(cfg.replace(seed=5))
    row = store.list(status="failed").iloc[0]
    assert row["seed"] == 5 and row["message"] == "boom"
    assert store.get(cfg.replace(seed=5)) is None


def test_list_filters_export_delete_and_errors(tmp_path, base_run):
    store = RunStore(tmp_path)
    cfgs = [base_run.config.replace(seed=s, scheme=sc) for s, sc in
            [(0, "uniform"), (1, "uniform"), (0, "inverse_frequency")]]
    keys = [store.save(dataclasses.replace(base_run, config=c, key="")) for c in cfgs]
    table = store.list()
    assert table["key"].tolist() == keys[::-1]  # newest first
    assert {"accuracy", "label", "seed", "config", "runtime_s"} <= set(table.columns)
    assert len(store.list(scheme="uniform")) == 2 and store.list(dataset="digits").empty
    assert len(store.list(status=["done"])) == 3
    back = pd.read_csv(io.StringIO(store.export_csv()))
    assert back["key"].tolist() == table["key"].tolist()
    assert back["accuracy"].tolist() == pytest.approx(table["accuracy"].tolist())
    assert pd.read_csv(io.StringIO(store.export_csv([keys[1]])))["seed"].tolist() == [1]
    store.delete(keys[0])
    assert keys[0] not in store.list()["key"].tolist()
    assert not (tmp_path / "runs" / keys[0]).exists()
    for bad in (keys[0], "0123456789abcdef", "../escape"):
        with pytest.raises(ValueError, match="no stored run with key"):
            store.load(bad)
    with pytest.raises(ValueError, match="no stored run with key"):
        store.delete("0123456789abcdef")


def test_stale_running_rows_and_broken_entries_show_as_failed(tmp_path, base_run):
    store, cfg = RunStore(tmp_path), base_run.config.replace(seed=7)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with store._db() as con:
        store._upsert(con, store.key(cfg), cfg, "running")
        store._upsert(con, "alive", cfg.replace(seed=8), "running")
        con.execute("UPDATE runs SET pid = ? WHERE key = ?", (dead.pid, store.key(cfg)))
    rows = store.list().set_index("key")
    assert rows.loc[store.key(cfg), "status"] == "failed"
    assert rows.loc[store.key(cfg), "message"].startswith("stale")
    assert rows.loc["alive", "status"] == "running" and store.get(cfg) is None
    key = store.save(dataclasses.replace(base_run, key=""))
    shutil.rmtree(tmp_path / "runs" / key)
    assert store.list().set_index("key").loc[key, "message"].startswith("broken")
    assert store.get(base_run.config) is None
    with pytest.raises(ValueError, match="broken"):
        store.load(key)
    # a writer killed before its first index commit leaves an unindexed directory
    other = RunStore(tmp_path / "other")
    shutil.copytree(store.root / "runs" / store.save(dataclasses.replace(base_run, key="")),
                    other.root / "runs" / key)
    assert other.list().empty and other.get(base_run.config) is None
    other.save(dataclasses.replace(base_run, key=""))
    assert_same_run(other.get(base_run.config), base_run)


def test_writer_killed_at_each_point_leaves_old_entry_or_nothing(tmp_path, base_run, pickled):
    cfg, procs = base_run.config, {}
    for p in ("after_files", "before_rename", "after_aside", "before_commit"):
        store = RunStore(tmp_path / p)
        store.save(dataclasses.replace(base_run, key=""))  # the old complete entry
        procs[p] = spawn(WRITER, tmp_path / p, store.code_version, pickled, 1, 0, "-",
                         env={CRASH_ENV: p})
    expect = {"after_files": "", "before_rename": "", "after_aside": None,
              "before_commit": "new"}
    for p, proc in procs.items():
        assert proc.wait(timeout=120) == 1, proc.stderr.read().decode()
        leftover = next((tmp_path / p / "tmp").iterdir(), None)
        if leftover is not None:
            os.utime(leftover, (time.time() - 7200, time.time() - 7200))
        store = RunStore(tmp_path / p)
        assert leftover is None or not leftover.exists()  # old leftovers are cleaned
        got = store.get(cfg)
        assert (got.message if got else None) == expect[p], p
        if got is not None:
            assert_same_run(got, base_run)
        assert_consistent(store)
        store.save(dataclasses.replace(base_run, key="", message="later"))
        assert store.get(cfg).message == "later" and len(store.list()) == 1


def test_sigkill_while_training_or_saving(tmp_path, base_run, pickled):
    train_store, save_store = RunStore(tmp_path / "train"), RunStore(tmp_path / "save")
    long_cfg = wb.RunConfig(dataset="blobs2d", dataset_params={"n_per_class": 60}, epochs=5000)
    trainer = spawn(TRAINER, train_store.root, train_store.code_version)
    saver = spawn(WRITER, save_store.root, save_store.code_version, pickled, -1, 0, "-")
    wait_for(lambda: not train_store.list().empty)
    wait_for(lambda: not save_store.list().empty)
    time.sleep(0.3)
    for proc in (trainer, saver):
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    row = train_store.list().iloc[0]
    assert row["status"] == "failed" and row["message"].startswith("stale")
    assert train_store.get(long_cfg) is None
    train_store.save(dataclasses.replace(base_run, config=long_cfg, key=""))
    assert train_store.get(long_cfg).status == "done"
    store = RunStore(save_store.root)
    assert_consistent(store)
    got = store.get(base_run.config)
    assert got is None or got.summary == base_run.summary
    store.save(dataclasses.replace(base_run, key=""))
    assert_same_run(store.get(base_run.config), base_run)


def test_concurrent_writers_lose_nothing(tmp_path, base_run, pickled):
    store, n, go = RunStore(tmp_path), 10, tmp_path / "go"
    procs = [spawn(WRITER, tmp_path, store.code_version, pickled, n, 100 * j, go)
             for j in range(2)]
    wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == 2, timeout=120)
    go.touch()
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    table = store.list()
    expected = {100 * j + i for j in range(2) for i in range(n)} | {999}
    assert sorted(table["seed"]) == sorted(expected) and set(table["status"]) == {"done"}
    for key in table["key"]:
        assert_same_run(store.load(key), dataclasses.replace(
            base_run, config=store.load(key).config))
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("spelled, plain", [
    (dict(scheme="linupper", scheme_params={"r": 1.0}), dict(scheme="linupper")),
    (dict(model_params={"hidden": [128, 128], "dropout": 0.0}), {}),
    (dict(model_params={"hidden": 64}), dict(model_params={"hidden": [64]})),
    (dict(imbalance=[{"kind": "longtail", "ratio": 10.0}]),
     dict(imbalance=[{"kind": "longtail"}])),
])
def test_a_default_written_out_gets_the_same_key_and_label(spelled, plain):
    a, b = wb.RunConfig(**SMALL, **spelled), wb.RunConfig(**SMALL, **plain)
    assert a.key() == b.key() and a.label == b.label and a.experiment() == b.experiment()
    assert a.key() != a.replace(seed=1).key()


def test_a_stored_run_is_found_under_either_spelling(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    plain = wb.RunConfig(**SMALL, scheme="linupper")
    first = store.train(plain)

    def untrained(*a, **k):
        raise AssertionError("trained again")

    monkeypatch.setattr(engine, "train", untrained)
    again = store.train(plain.replace(scheme_params={"r": 1.0}))
    assert again.key == first.key and again.summary == first.summary
    assert again.label == "linupper" and len(store.list()) == 1
