"""Callbacks are public API: every run gets the same events on every path.

A run trained alone (``wb.train``) is the reference. The same configs trained as batched
replicas (``wb.compare``), in an in-process sweep (``wb.sweep``) and from the dashboard
(Streamlit AppTest, through ``wbui.live``'s live-records callback) must give each run the
same sequence: ``on_start`` (total steps), one ``on_step`` per step (step, epoch),
``on_eval`` after each evaluation (step, epoch and the rows' split/group/metric), and
``on_end`` (status). Values in the rows differ by float rounding between a batch and a run
alone (tests/test_batched.py), so the rows are compared by their keys.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

import workbench as wb
from workbench.store import RunStore

BASE = wb.RunConfig(dataset="blobs2d", dataset_params={"n_per_class": 60}, epochs=2,
                    batch_size=32, model="linear")
SCHEMES, SEEDS = ["uniform", "linupper", "group_dro"], [0, 1]


class EventLog(wb.Callback):
    """Every event, per run (keyed by the run's config)."""

    def __init__(self):
        self.events = defaultdict(list)

    def on_start(self, total_steps, config):
        self.events[config.key()].append(("start", total_steps))

    def on_step(self, rec):
        self.events[rec.config.key()].append(("step", rec.step, rec.epoch))

    def on_eval(self, step, epoch, rows, config=None):
        keys = tuple(sorted((r["split"], r["group"], r["metric"]) for r in rows))
        self.events[config.key()].append(("eval", step, epoch, keys))

    def on_end(self, run):
        self.events[run.config.key()].append(("end", run.status))


def alone(configs) -> dict:
    log = EventLog()
    for cfg in configs:
        wb.train(cfg, callbacks=[log])
    return dict(log.events)


@pytest.fixture(scope="module")
def reference():
    configs = [BASE.replace(scheme=s, seed=k) for s in SCHEMES for k in SEEDS]
    return alone(configs)


def test_a_run_alone_gets_each_event_in_order(reference):
    events = reference[BASE.key()]
    steps = [e for e in events if e[0] == "step"]
    assert events[0] == ("start", len(steps)) and events[-1] == ("end", "done")
    assert [e[1] for e in steps] == list(range(len(steps)))
    evals = [e for e in events if e[0] == "eval"]
    assert [e[2] for e in evals] == [1, 2]  # one evaluation per epoch, once each
    per_epoch = len(steps) // 2
    assert events.index(evals[0]) == 1 + per_epoch  # right after the first epoch's steps


def test_compare_batched_replicas_get_the_same_events(reference):
    log = EventLog()
    cmp = wb.compare(BASE, SCHEMES, SEEDS, callbacks=[log])
    assert {r.info["execution"] for r in cmp.runs} == {"batched (6 replicas)"}
    assert dict(log.events) == reference


def test_compare_one_by_one_and_train_many_get_the_same_events(reference):
    log = EventLog()
    wb.compare(BASE, SCHEMES, SEEDS, callbacks=[log], batched=False)
    assert dict(log.events) == reference
    log = EventLog()
    wb.train_many([BASE.replace(scheme=s, seed=k) for s in SCHEMES for k in SEEDS],
                  callbacks=[log])
    assert dict(log.events) == reference


def test_sweep_in_process_gets_the_same_events(reference, tmp_path):
    log = EventLog()
    sw = wb.sweep(BASE, grid={"scheme": SCHEMES}, seeds=SEEDS, store=RunStore(tmp_path),
                  workers=1, callbacks=[log])
    assert sw.info["trained"] == 6
    assert dict(log.events) == reference


def test_multi_stage_scheme_alone_and_in_a_comparison(tmp_path):
    cfgs = [BASE.replace(scheme="jtt", seed=0), BASE.replace(scheme="uniform", seed=0)]
    want = alone(cfgs)
    log = EventLog()
    cmp = wb.compare(BASE, ["jtt", "uniform"], [0], callbacks=[log], store=RunStore(tmp_path))
    assert cmp.runs[0].info["execution"].startswith("sequential: scheme 'jtt' has several")
    assert dict(log.events) == want  # earlier stages (ctx.fit) send no events


def test_the_dashboard_sends_the_same_events(monkeypatch, tmp_path):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    import wbui.job as job
    from tests.test_app import APP, _small_run
    from wbui.live import LiveRecords

    log = EventLog()

    class LoggedRecords(LiveRecords, EventLog):  # the live views' callback, one per job
        def __init__(self, *args, **kwargs):
            LiveRecords.__init__(self, *args, **kwargs)
            self.events = log.events

        def on_start(self, total_steps, config):
            EventLog.on_start(self, total_steps, config)
            LiveRecords.on_start(self, total_steps, config)

        def on_step(self, rec):
            EventLog.on_step(self, rec)
            LiveRecords.on_step(self, rec)

        def on_eval(self, step, epoch, rows, config=None):
            EventLog.on_eval(self, step, epoch, rows, config)
            LiveRecords.on_eval(self, step, epoch, rows, config)

    monkeypatch.setattr(job, "LiveRecords", LoggedRecords)
    # the logging callback is patched into this process: train here (the worker process
    # runs the same callback; tests/test_app_live.py checks its records equal these)
    monkeypatch.setenv("WORKBENCH_APP_TRAINING", "thread")
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("WORKBENCH_APP_DEFAULT_EPOCHS", "1")
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["started"] = True
    at = _small_run(at.run(), schemes=["uniform", "linupper"])
    runs = [RunStore(tmp_path / "store").load(k) for k in at.session_state["keys"]]
    assert len(runs) == 4 and {r.info["execution"] for r in runs} == {"batched (2 replicas)"}
    assert dict(log.events) == alone([r.config for r in runs])


def test_a_callback_written_for_three_argument_on_eval_keeps_working():
    class Old(wb.Callback):
        def __init__(self):
            self.evals = []

        def on_eval(self, step, epoch, rows):  # the signature before config was passed
            self.evals.append(epoch)

    old = Old()
    wb.train(wb.RunConfig(dataset="blobs2d", model="linear", epochs=2, eval_every=1),
             callbacks=[old])
    assert old.evals == [1, 2]
