"""The Streamlit dashboard, driven headless with ``streamlit.testing`` (AppTest).

Why these tests: the app must load without a traceback, turn sidebar values into a
comparison that fills every tab, report bad values next to their control (never as an
exception), and handle regression data sets. Every test uses its own run store
(``WORKBENCH_STORE`` in a tmp dir) and a tiny experiment, so the real store is never
touched and the whole file runs in about two minutes on two cores.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from workbench import ConfigError, RunStore  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TABS = ["Overview", "Weights", "Samples", "Groups", "Calibration", "Data", "What-if", "Runs",
        "Learn"]


def _settle(at: AppTest, timeout: float = 120) -> AppTest:
    """Wait for the background training of a comparison, then rerun (as the live
    fragment does when it sees the job end)."""
    import time

    job = at.session_state["job"] if "job" in at.session_state else None
    end = time.monotonic() + timeout
    while job is not None and job.running and time.monotonic() < end:
        time.sleep(0.05)
    assert job is None or not job.running, "the comparison did not finish in time"
    return at.run()


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _open(at: AppTest, tab: str) -> AppTest:
    at.session_state["view"] = tab
    at.run()
    _no_exception(at)
    return at


def _small_run(at: AppTest, dataset: str = "blobs2d", schemes=None) -> AppTest:
    at.selectbox(key="dataset").set_value(dataset).run()
    at.number_input(key="epochs").set_value(2)
    at.number_input(key="seeds").set_value(2)
    if schemes is not None:
        at.multiselect(key="schemes").set_value(schemes)
    at.run()
    assert not at.button(key="run").disabled, [e.value for e in at.error]
    at.button(key="run").click().run()
    _settle(at)
    _no_exception(at)
    return at


def test_first_load_shows_the_default_comparison(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("WORKBENCH_APP_DEFAULT_EPOCHS", "1")
    at = _settle(AppTest.from_file(APP, default_timeout=120).run())
    _no_exception(at)
    assert [t.label for t in at.tabs] == TABS
    assert "9 runs ready" in at.session_state["note"]
    assert len(at.table) == 1 and at.get("plotly_chart")
    overview = at.table[0].value  # the last column says which best is separated, or not
    assert overview.columns[-1] == "best (95% CIs apart)"  # metrics as rows: fits 1024 px
    assert all(v for v in overview.iloc[:, -1]) and "95% interval does not overlap" in " ".join(
        c.value for c in at.caption)
    text = " ".join(m.value for m in at.markdown)
    assert "n = 3 seeds" in text and "selection rule" in text and "plain mean" in " ".join(
        c.value for c in at.caption)


def test_a_sidebar_run_fills_every_view(app):
    schemes = ["uniform", "inverse_frequency", "linupper", "temperature_sampling"]
    at = _small_run(app, schemes=schemes)
    assert len(at.session_state["keys"]) == 8  # 4 schemes x 2 seeds
    import os

    from workbench.store import RunStore

    stored = RunStore(os.environ["WORKBENCH_STORE"]).load(at.session_state["keys"][0])
    assert stored.info["execution"] == "batched (4 replicas)"  # one batch per seed
    expected = {"Overview": (1, 1), "Weights": (6, 0), "Samples": (2, 1), "Groups": (1, 0),
                "Calibration": (3, 1), "Data": (2, 0), "Runs": (0, 1), "Learn": (4, 0)}
    for tab, (charts, frames) in expected.items():
        _open(at, tab)
        assert len(at.get("plotly_chart")) >= charts, tab
        assert len(at.dataframe) + len(at.table) >= frames, tab
        if tab == "Groups":
            assert any("Worst group" in m.value for m in at.markdown)
        if tab == "Runs":
            assert at.get("download_button") and len(at.dataframe[0].value) == 8
        if tab == "Learn":  # a card per scheme of the comparison; any other on request
            assert len(at.latex) >= 3 and any("B = 2" in i.value for i in at.info)
            at.multiselect(key="learn_more").set_value(["group_dro", "focal"]).run()
            assert len(at.get("plotly_chart")) == charts + 2
        if tab == "Weights":  # the sampler's batch composition
            assert any("Batch composition" in m.value for m in at.markdown)


@pytest.mark.parametrize("key, value, message", [
    ("imb0_longtail_ratio", 0.5, "longtail ratio"),
    ("lr", -0.1, "lr must be a number in (0, 10]"),
    ("sch_linupper_r", -1.0, "linupper r must be a finite number > 0"),
])
def test_a_bad_value_is_reported_beside_its_control(app, key, value, message):
    app.number_input(key=key).set_value(value).run()
    _no_exception(app)
    assert any(message in e.value for e in app.error), [e.value for e in app.error]
    assert app.button(key="run").disabled


def test_a_batch_larger_than_the_training_split_is_reported_before_run(app):
    app.number_input(key="batch_size").set_value(100_000).run()  # known from the data
    assert any(e.value.startswith("batch_size 100000 is larger than the training split")
               for e in app.error)
    assert app.button(key="run").disabled


@pytest.mark.parametrize("error, stored", [
    (RuntimeError("boom"), ["failed"]),  # a training failure: the store says why
    (ConfigError("batch_size 64 is larger than the training split", "run", "batch_size"),
     []),  # a config error only training found: reported, no failed run kept
])
def test_a_run_that_fails_in_training_is_reported_not_raised(app, monkeypatch, tmp_path,
                                                             error, stored):
    import workbench.store

    def fail(*a, **k):
        raise error

    monkeypatch.setenv("WORKBENCH_APP_TRAINING", "thread")  # the patch is in this process
    monkeypatch.setattr(workbench.store, "train_many", fail)
    app.selectbox(key="dataset").set_value("blobs2d").run()
    _settle(app.button(key="run").click().run())
    _no_exception(app)
    assert any(str(error) in e.value for e in app.error)
    assert app.session_state["note"].startswith("Stopped")
    listed = RunStore(tmp_path / "store").list()
    assert sorted(set(listed["status"])) == stored
    assert (listed["message"] == str(error)).all()


def test_several_bad_values_are_all_reported(app):
    app.number_input(key="lr").set_value(-1.0)
    app.number_input(key="sch_linupper_r").set_value(0.0)
    app.run()
    errors = " | ".join(e.value for e in app.error)
    assert "lr must be" in errors and "linupper r must be" in errors


def test_a_regression_data_set_runs(app):
    """Choosing a regression data set drops the class-only transform and weights by group,
    so its default comparison runs as it is."""
    app.selectbox(key="dataset").set_value("noisy_regression").run()
    assert not app.error, [e.value for e in app.error]
    assert app.selectbox(key="sch_inverse_frequency_by").value == "group"
    at = _small_run(app, "noisy_regression", ["uniform", "linupper"])
    assert "mse" in at.table[0].value.index
    for tab in TABS[1:]:
        _open(at, tab)
        if tab == "Calibration":
            assert any("not applicable to regression" in i.value for i in at.info)
        if tab == "Groups":
            assert at.radio(key="groups_metric_test").options == ["mse"]


def test_cancel_keeps_finished_runs_and_stores_no_partial_run(app, tmp_path):
    at = _small_run(app, schemes=["uniform"])
    kept = at.session_state["keys"]
    at.number_input(key="epochs").set_value(400).run()  # seconds of training
    at.button(key="run").click().run()
    assert at.session_state["job"].running and at.button(key="cancel")
    at.button(key="cancel").click().run()  # Cancel, drawn by the live fragment
    _settle(at)
    _no_exception(at)
    assert "cancelled" in at.session_state["note"]
    assert at.session_state["keys"] == kept  # nothing finished: the previous comparison
    assert any("cancelled" in w.value for w in at.warning)
    listed = RunStore(tmp_path / "store").list()
    assert list(listed["status"]) == ["done"] * len(kept)  # no partial run was stored


def test_runs_tab_loads_and_deletes_stored_runs(app):
    at = _small_run(app, schemes=["uniform", "inverse_frequency"])
    _open(at, "Runs")
    keys = list(at.session_state["keys"])
    at.multiselect(key="runs_selected").set_value(keys[:2]).run()
    at.button(key="runs_load").click().run()
    assert list(at.session_state["keys"]) == keys[:2]
    assert at.session_state["view"] == "Overview"
    _open(at, "Runs")
    at.multiselect(key="runs_selected").set_value(keys[:1]).run()
    at.button(key="runs_delete").click().run()
    assert any("Delete 1 runs" in w.value for w in at.warning)
    at.button(key="runs_delete_yes").click().run()
    _no_exception(at)
    assert keys[0] not in set(at.dataframe[0].value["key"])


def test_diverged_runs_are_listed_and_no_view_breaks(app):
    app.number_input(key="lr").set_value(10.0)
    app.selectbox(key="optimizer").set_value("sgd")
    app.button(key="imb0_remove").click().run()  # the full blobs2d set: more steps
    at = _small_run(app, schemes=["uniform"])
    assert any("diverged at step" in e.value for e in at.error), [e.value for e in at.error]
    for tab in TABS[1:]:
        _open(at, tab)


def test_what_if_sweep_plots_a_metric_against_the_swept_value(app):
    at = app
    at.selectbox(key="dataset").set_value("blobs2d").run()
    at.number_input(key="epochs").set_value(1)
    at.number_input(key="seeds").set_value(2)
    at.multiselect(key="schemes").set_value(["uniform", "inverse_frequency"])
    at.run()
    _open(at, "What-if")
    at.selectbox(key="whatif_path").set_value("lr").run()
    at.text_input(key="whatif_values_lr").set_value("1e-3, nope").run()
    assert any("'nope' is not a number" in e.value for e in at.error)
    at.text_input(key="whatif_values_lr").set_value("0.001, 0.01").run()
    assert not at.error
    at.button(key="whatif_run").click().run()
    _no_exception(at)
    path, table, runs, _ = at.session_state["whatif"]
    assert path == "lr" and set(table["lr"]) == {0.001, 0.01}
    assert len(runs) == 2 * 2 * 2  # a dot per run: values x schemes x seeds
    fig = at.get("plotly_chart")[-1].proto.spec
    assert "lr (learning rate)" in fig and "one dot per seed" in fig
    assert set(table["scheme"]) == {"uniform", "inverse_frequency"}
    assert (table[table.metric == "accuracy"]["n"] == 2).all()
    assert at.get("plotly_chart")


def test_the_app_uses_run_configs_defaults_or_the_data_sets_budget(monkeypatch, tmp_path):
    """One set of defaults: the sidebar's budget is RunConfig's, so the app, the CLI and
    the API make the same store keys for the same experiment; a data set that declares a
    ``default_budget`` (its default comparison within ~30 s on two cores) brings its own."""
    import workbench as wb

    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("WORKBENCH_APP_DEFAULT_EPOCHS", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["started"] = True  # no auto-run: only the controls are read
    at.run()
    d = wb.RunConfig()
    assert at.number_input(key="epochs").value == d.epochs
    assert at.number_input(key="batch_size").value == d.batch_size
    assert at.number_input(key="lr").value == d.lr
    at.selectbox(key="dataset").set_value("text_domains").run()
    budget = wb.DATASETS.get("text_domains").default_budget
    assert at.number_input(key="epochs").value == budget["epochs"]
    assert at.number_input(key="data_text_domains_n_per_domain").value == \
        budget["dataset_params"]["n_per_domain"]
    assert at.selectbox(key="model").value == "transformer"  # the model its task needs
    assert not at.error, [e.value for e in at.error]
    at.selectbox(key="dataset").set_value("digits").run()
    assert at.number_input(key="epochs").value == d.epochs


@pytest.mark.parametrize("n", [0, 21, -2])
def test_a_seed_count_out_of_range_is_reported_before_run(app, n):
    app.number_input(key="seeds").set_value(n).run()
    _no_exception(app)
    assert any(f"from 1 to 20, got {n}" in e.value for e in app.error), \
        [e.value for e in app.error]
    assert app.button(key="run").disabled


def test_a_server_path_is_refused_beside_the_control(app):
    app.selectbox(key="dataset").set_value("csv").run()
    assert not app.button(key="run").disabled  # the bundled example is fine
    app.text_input(key="data_csv_path").set_value("/etc/passwd").run()
    _no_exception(app)
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and "reading files on the server is off: /etc/passwd" in errors[0]
    assert "WORKBENCH_ALLOW_SERVER_PATHS=1" in errors[0]
    assert app.button(key="run").disabled


def test_a_bad_csv_path_is_reported_where_server_paths_are_allowed(app, monkeypatch,
                                                                   tmp_path):
    monkeypatch.setenv("WORKBENCH_ALLOW_SERVER_PATHS", "1")
    app.selectbox(key="dataset").set_value("csv").run()
    app.text_input(key="data_csv_path").set_value(str(tmp_path / "nope.csv")).run()
    _no_exception(app)
    assert any("csv file not found" in e.value for e in app.error)
    assert app.button(key="run").disabled


def test_an_uploaded_csv_trains_with_columns_chosen_from_the_file(app, tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x1": rng.normal(size=200), "x2": rng.normal(size=200),
                       "site": rng.choice(["a", "b"], 200), "label": rng.integers(0, 2, 200)})
    data = df.to_csv(index=False).encode()
    app.selectbox(key="dataset").set_value("csv").run()
    app.file_uploader(key="data_csv_path_upload").set_value(("mine.csv", data, "text/csv"))
    app.run()
    target = app.selectbox(key="data_csv_target")
    assert target.options == ["(none)", "x1", "x2", "site", "label"]  # the file's columns
    assert "site" in " ".join(str(d.value) for d in app.dataframe)  # the preview
    target.set_value("label")
    app.selectbox(key="data_csv_group").set_value("site")
    app.button(key="imb0_remove").click().run()
    at = _small_run(app, "csv", ["uniform", "inverse_frequency"])
    import hashlib
    import os

    stored = RunStore(os.environ["WORKBENCH_STORE"]).load(at.session_state["keys"][0])
    path = stored.config.dataset_params["path"]
    assert path.endswith(f"uploads/{hashlib.sha256(data).hexdigest()}.csv")
    assert stored.info["group_names"] == ["a", "b"] and stored.status == "done"


def test_runs_of_different_experiments_are_never_averaged_together(app):
    at = _small_run(app, schemes=["uniform", "inverse_frequency"])  # 2 epochs, 2 seeds
    first = set(at.session_state["keys"])
    at.number_input(key="epochs").set_value(1)
    at.run()
    _settle(at.button(key="run").click().run())
    second = set(at.session_state["keys"])
    assert len(first) == len(second) == 4 and not first & second
    _open(at, "Runs")
    at.checkbox(key="runs_all").check().run()
    assert "2 experiments" in " ".join(c.value for c in at.caption)
    at.button(key="runs_load").click().run()
    _no_exception(at)
    loaded = at.session_state["keys"]
    assert set(loaded) in (first, second)  # one experiment, not all 8 runs
    import os

    from workbench.store import RunStore

    table = RunStore(os.environ["WORKBENCH_STORE"]).comparison(loaded).table
    assert (table["n"] == 2).all()  # 2 seeds per scheme, not 4 pooled
    _open(at, "Overview")


def test_samples_view_maps_flipped_labels_to_the_hard_to_learn_region(app):
    """Dataset Cartography on label-noise data: the map, the region table by flipped label,
    and one sample's trajectory."""
    at = app
    at.selectbox(key="dataset").set_value("digits").run()
    at.selectbox(key="imb0_kind").set_value("label_noise").run()  # default rate
    at = _small_run(at, dataset="digits", schemes=["uniform", "linupper"])
    _open(at, "Samples")
    assert len(at.get("plotly_chart")) == 2  # the map and the selected sample
    table = at.table[0].value
    assert set(table["noisy"]) == {True, False}
    assert "hard-to-learn" in table.columns and at.selectbox(key="samples_pick").value >= 0


@pytest.mark.parametrize("dataset, metric", [("features", "worst_group_accuracy"),
                                             ("text_folder", "perplexity")])
def test_a_users_data_set_trains_from_the_app_on_its_bundled_example(app, dataset, metric):
    """features (.npz embeddings) and text_folder (a corpus folder) from the sidebar: the
    bundled example is preselected, a run trains and the Overview shows its metric."""
    at = _small_run(app, dataset, schemes=["uniform", "linupper"])
    assert at.session_state["dataset"] == dataset
    stored = RunStore(at.session_state["store_root"] if "store_root" in at.session_state
                      else __import__("os").environ["WORKBENCH_STORE"]
                      ).load(at.session_state["keys"][0])
    assert stored.status == "done" and metric in stored.summary
    for tab in ("Overview", "Groups"):
        _open(at, tab)
