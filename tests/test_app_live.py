"""The dashboard while it trains, before Run, and after the sidebar changed (AppTest).

Why: a comparison trains in a background job (``wbui.job``) and the views follow it from
partial records; before Run the sidebar says how long Run takes here and offers a smaller
budget above a minute; results that no longer match the sidebar are flagged on every view
(or loaded at once when the sidebar's experiment is stored). Each test uses its own store.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.test_app import APP, _no_exception, _open, _settle, _small_run  # noqa: E402
from workbench import RunStore  # noqa: E402


@pytest.fixture
def app(monkeypatch, tmp_path):
    from wbui import estimate

    monkeypatch.setattr(estimate, "_RATIO", {})  # no correction learned by other tests
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("WORKBENCH_APP_DEFAULT_EPOCHS", "1")
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["started"] = True
    return at.run()


def _captions(at) -> str:
    return " | ".join(c.value for c in at.caption)


def _training_rows(job) -> bool:
    """True once a run in flight has recorded training steps (not only started)."""
    return any((r.history["split"] == "train_batch").any() for r in job.partial_runs())


def test_the_views_follow_a_comparison_while_it_trains(app, tmp_path):
    app.selectbox(key="dataset").set_value("digits").run()
    app.number_input(key="epochs").set_value(300)  # long enough to look at it mid-way
    app.multiselect(key="schemes").set_value(["uniform", "linupper"])
    app.number_input(key="seeds").set_value(2).run()
    app.button(key="run").click().run()
    job = app.session_state["job"]
    end = time.monotonic() + 60
    while not _training_rows(job) and time.monotonic() < end:
        time.sleep(0.1)
    app.run()  # what the live fragment draws
    _no_exception(app)
    assert job.running, "the comparison ended before it could be looked at"
    progress = app.get("progress")[0].proto.text
    assert progress.startswith("Training batch 1/2") and "s elapsed" in progress
    assert app.button(key="cancel")
    assert app.get("plotly_chart")  # the groups' weights so far, above the views
    history = app.session_state["job"].partial_runs()[0].history
    assert {"train_batch"} <= set(history["split"]) and "weight" in set(history["metric"])
    # the progress box's chart, except on Weights (its own "per-group weight" chart)
    for tab, charts in (("Weights", 4), ("Groups", 2), ("Overview", 1), ("Calibration", 1)):
        _open(app, tab)
        assert len(app.get("plotly_chart")) >= charts, tab
    assert any("Shown once the first runs finish" in i.value for i in app.info)
    app.button(key="cancel").click().run()
    _settle(app)
    _no_exception(app)
    assert "Comparison cancelled" in app.session_state["note"]
    assert RunStore(tmp_path / "store").list().empty  # the cut-short runs are not stored


def test_the_sidebar_says_how_long_run_takes_here(app):
    app.selectbox(key="dataset").set_value("blobs2d").run()
    text = _captions(app)
    assert "Run takes **about" in text and "measured on this machine" in text, text
    assert "4 runs × " not in text  # 3 schemes x 3 seeds
    assert "9 runs × " in text


def test_a_long_budget_warns_and_one_click_makes_it_smaller(app):
    app.selectbox(key="dataset").set_value("digits").run()
    app.number_input(key="epochs").set_value(5000).run()
    warning = " ".join(w.value for w in app.warning)
    assert "Run takes **about" in warning and "min here" in warning, warning
    button = app.button(key="smaller_budget")
    assert button.label.startswith("Use ") and "epochs instead" in button.label
    button.click().run()
    epochs = app.number_input(key="epochs").value
    assert 1 <= epochs < 5000
    assert not any("Run takes" in w.value for w in app.warning)  # now within a minute
    assert "Run takes **about" in _captions(app)


def test_a_stored_experiment_says_it_loads_at_once(app):
    at = _small_run(app, schemes=["uniform"])
    assert "All 2 runs are stored: they load at once." in _captions(at)


def test_the_banner_flags_results_the_sidebar_no_longer_describes(app):
    at = _small_run(app, schemes=["uniform", "linupper"])
    first = at.session_state["keys"]
    assert not any("Out of date" in w.value for w in at.warning)
    at.number_input(key="epochs").set_value(3).run()
    for tab in ("Overview", "Weights", "Learn"):  # above every view
        _open(at, tab)
        assert any("**Out of date**" in w.value for w in at.warning), tab
    _settle(at.button(key="run").click().run())
    assert not any("Out of date" in w.value for w in at.warning)
    second = at.session_state["keys"]
    at.number_input(key="epochs").set_value(2).run()  # back to a stored experiment
    _no_exception(at)
    assert at.session_state["keys"] == first != second  # loaded at once, no Run needed
    assert not any("Out of date" in w.value for w in at.warning)
    assert at.session_state["note"].startswith("Loaded 4 stored runs")


def test_upload_previews_tables_and_arrays_of_any_declared_type(tmp_path):
    """The upload is generic over ``file_types``: csv, parquet and npz files are saved
    content-addressed and previewed, and their columns (arrays) offered."""
    import numpy as np
    import pandas as pd

    from wbui import upload

    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    buf = tmp_path / "t.parquet"
    df.to_parquet(buf)
    arrays = tmp_path / "t.npz"
    np.savez(arrays, X=np.zeros((3, 4)), y=np.arange(3))
    for name, data, cols in (("t.csv", df.to_csv(index=False).encode(), ["a", "b"]),
                             ("t.parquet", buf.read_bytes(), ["a", "b"]),
                             ("t.npz", arrays.read_bytes(), ["X", "y"])):
        path = upload.save_upload(data, name, tmp_path / "store", ("csv", "parquet", "npz"))
        assert path.parent == tmp_path / "store" / "uploads"
        assert upload.save_upload(data, name, tmp_path / "store", ("csv", "parquet", "npz")) \
            == path  # the same content, the same file
        assert upload.columns(str(path)) == cols
        assert len(upload.preview(str(path))) in (2, 3)
    with pytest.raises(ValueError, match="not one of the allowed file types: .csv"):
        upload.save_upload(b"x", "notes.txt", tmp_path, ("csv",))
    assert upload.refusal("/etc/passwd", ("csv",), tmp_path, allowed=True) is not None
    example = Path(upload.safe_roots(tmp_path)[1]) / "adult_sample.csv"
    assert upload.refusal(str(example), ("csv",), tmp_path, allowed=False) is None


def test_the_estimate_learns_from_a_finished_comparison(monkeypatch):
    """measured / estimated moves the next estimate of that data set and model halfway."""
    from types import SimpleNamespace

    import workbench as wb
    from wbui import estimate

    monkeypatch.setattr(estimate, "_RATIO", {})
    cfg = wb.RunConfig(dataset="blobs2d")
    est = estimate.Estimate(10.0, 2, 100, 0.01)
    job = SimpleNamespace(estimate=est, failure="", cancelled=False, trained=2, started=0.0,
                          ended=40.0, configs=[cfg])
    estimate.learn(job)
    assert estimate._RATIO[("blobs2d", "mlp")] == pytest.approx(2.0)  # sqrt(40 / 10)
    estimate.learn(SimpleNamespace(**{**vars(job), "cancelled": True}))  # not learned from
    assert estimate._RATIO[("blobs2d", "mlp")] == pytest.approx(2.0)


def test_a_worker_process_records_what_a_thread_records(tmp_path):
    """The app trains in a worker process (``wbui.worker``) so the views keep a core; its
    live records, sent back as deltas, equal those of training in a thread, and the runs
    it stores are the same runs."""
    import pandas as pd

    import workbench as wb
    from wbui.job import Job
    from workbench.compare import comparison_configs

    base = wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 20}],
                        epochs=3, model="mlp")
    configs = comparison_configs(base, [("uniform", {}), ("linupper", {})], [0, 1])
    jobs = {}
    for where in ("thread", "process"):
        jobs[where] = Job(configs, RunStore(tmp_path / where), where=where).start()
        jobs[where].join(120)
        assert jobs[where].done and not jobs[where].failure, jobs[where].failure
    a, b = jobs["thread"], jobs["process"]
    assert a.finished_keys() == b.finished_keys() and len(a.finished_keys()) == 4
    for cfg in configs:
        pd.testing.assert_frame_equal(a.records.history(cfg, a.spe),
                                      b.records.history(cfg, b.spe), check_exact=True)
        pd.testing.assert_frame_equal(a.records.weights(cfg, a.spe),
                                      b.records.weights(cfg, b.spe), check_exact=True)
    assert not b.records.history(configs[0], b.spe).empty
    for key in a.finished_keys():
        ra, rb = RunStore(tmp_path / "thread").load(key), RunStore(tmp_path / "process").load(key)
        assert ra.summary == rb.summary
