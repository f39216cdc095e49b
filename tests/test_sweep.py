"""sweep(): grid expansion, local and Ray backends, resuming from the store, table, figure, CLI.

Every store here pins its code version, so keys stay put while the package is edited.
Summaries of a sweep are compared with ``wb.train`` of the same configs within 1e-5 (the
batched replicas' float rounding, as in tests/test_batched.py).
"""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.cli import main
from workbench.figures import is_empty_figure
from workbench.figures.sweep import sweep_lines
from workbench.store import RunStore
from workbench.sweep import sweep
from workbench.sweep_grid import expand_grid, read_sweep_file

BASE = wb.RunConfig(dataset="blobs2d", dataset_params={"n_per_class": 80}, model="linear",
                    imbalance=[{"kind": "longtail", "ratio": 2}], epochs=2, batch_size=32,
                    track=16)
GRID = {"imbalance.0.ratio": [1, 4], "scheme": ["uniform", "inverse_frequency"]}
SEEDS = [0, 1]
VERSION = "test-sweep"
EXAMPLE = Path(wb.__file__).parents[1] / "examples" / "sweep_imbalance.yaml"


def store_at(path) -> RunStore:
    return RunStore(path, code_version=VERSION)


@pytest.fixture(scope="module")
def alone():
    """Each config of the sweep trained on its own with wb.train."""
    configs, _ = expand_grid(BASE, GRID, SEEDS)
    return {c.key(): wb.train(c) for c in configs}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    return sweep(BASE, GRID, SEEDS, store=store_at(tmp_path_factory.mktemp("store")), workers=1)


def assert_same_summaries(runs, expected):
    assert len(runs) == len(expected)
    for run in runs:
        ref = expected[run.config.key()]
        assert run.status == ref.status == "done"
        for k, v in ref.summary.items():
            assert abs(run.summary[k] - v) < 1e-5, (run.config.label, k)


def test_grid_expansion_follows_dotted_paths_and_scheme_params():
    grid = {"imbalance.0.ratio": [1, 10], "dataset_params.spread": [0.5],
            "scheme": ["uniform", "linupper"], "scheme_params.r": [0.5, 1.0]}
    configs, values = expand_grid(BASE, grid, seeds=[0, 3])
    # uniform takes no r: one uniform point per ratio, two linupper points
    assert len(configs) == 2 * (1 + 2) * 2
    assert [c.seed for c in configs[:2]] == [0, 3]
    first = configs[0]
    assert first.imbalance == [{"kind": "longtail", "ratio": 1}]
    assert first.dataset_params == {"n_per_class": 80, "spread": 0.5}
    assert first.scheme_params == {} and values[0]["scheme_params.r"] is None
    lin = [(c, v) for c, v in zip(configs, values) if c.scheme == "linupper"]
    assert sorted({c.scheme_params["r"] for c, _ in lin}) == [0.5, 1.0]
    assert all(v["scheme_params.r"] == c.scheme_params["r"] for c, v in lin)
    assert BASE.imbalance == [{"kind": "longtail", "ratio": 2}]  # the base is not changed
    assert len(expand_grid(BASE, {}, seeds=[0, 1])[0]) == 2


@pytest.mark.parametrize("grid, seeds, message", [
    ({"nope": [1]}, [0], "unknown grid path 'nope': 'nope' is not a config field; allowed:"),
    ({"imbalance.3.ratio": [1]}, [0], "imbalance has 1 entry; use an index 0..0"),
    ({"imbalance.x": [1]}, [0], "imbalance has 1 entry; use an index 0..0"),
    ({"lr.x": [1]}, [0], "grid path 'lr.x': lr is a single value"),
    ({"imbalance.0.ratio": [1, 0.5]}, [0], "grid point imbalance.0.ratio=0.5: longtail ratio"),
    ({"dataset_params.nope": [1]}, [0], "has no parameter 'nope'; allowed: n_classes"),
    ({"scheme": ["uniform", "nope"]}, [0], "grid path 'scheme': unknown scheme 'nope'"),
    ({"scheme": ["uniform", "linupper"], "scheme_params.rr": [1]}, [0],
     "takes scheme parameter 'rr'; they take: uniform: (none); linupper: burn_in, delta, r"),
    ({"seed": [1, 2]}, [0], "give training seeds with seeds="),
    ({"lr": []}, [0], "grid path 'lr' needs a non-empty list of values"),
    ({"imbalance": [[]], "imbalance.0.ratio": [1]}, [0], "overlap"),
    ({}, [], "seeds must be a non-empty list of integers"),
])
def test_bad_grids_say_what_is_allowed(grid, seeds, message):
    with pytest.raises(ValueError) as err:
        expand_grid(BASE, grid, seeds)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_every_config_is_checked_before_anything_trains(tmp_path):
    store = store_at(tmp_path)
    with pytest.raises(ValueError, match="grid point imbalance.0.ratio=0"):
        sweep(BASE, {"imbalance.0.ratio": [2, 0]}, store=store, workers=1)
    for kw, message in [({"backend": "spark"}, "valid backends: local, ray"),
                        ({"workers": 0}, "workers must be an integer >= 1"),
                        ({"address": "auto"}, "use it with backend='ray'")]:
        with pytest.raises(ValueError, match=message):
            sweep(BASE, {"imbalance.0.ratio": [2]}, store=store, **kw)
    assert store.list().empty


def test_local_sweep_in_process_equals_runs_trained_alone(swept, alone):
    assert swept.info["trained"] == 8 and swept.info["batches"] == 2
    assert_same_summaries(swept.runs, alone)
    assert all(r.info["execution"] == "batched (4 replicas)" for r in swept.runs)


def test_local_sweep_with_two_worker_processes_equals_runs_trained_alone(tmp_path, alone):
    sw = sweep(BASE, GRID, SEEDS, store=store_at(tmp_path), workers=2)
    assert sw.info["workers"] == 2
    assert_same_summaries(sw.runs, alone)


def test_resumed_sweep_trains_only_the_missing_run(tmp_path):
    store = store_at(tmp_path)
    first = sweep(BASE, GRID, SEEDS, store=store, workers=1)
    created = store.list().set_index("key")["created"]
    gone = first.runs[5].key
    store.delete(gone)
    again = sweep(BASE, GRID, SEEDS, store=store, workers=1)
    assert (again.info["trained"], again.info["loaded"]) == (1, 7)
    after = store.list().set_index("key")["created"]
    assert sorted(after.index) == sorted(created.index)
    assert [k for k in after.index if after[k] != created.get(k)] == [gone]
    assert [r.key for r in again.runs] == [r.key for r in first.runs]
    assert again.runs[5].summary == pytest.approx(first.runs[5].summary, abs=1e-6)


def test_table_has_a_row_per_point_scheme_and_metric(swept):
    t = swept.table
    assert list(t.columns) == ["imbalance.0.ratio", "scheme", "metric", "mean", "std",
                               "ci_low", "ci_high", "n", "clipped"]
    metrics = list(swept.runs[0].summary)
    assert len(t) == 2 * 2 * len(metrics) and (t["n"] == 2).all()
    row = t[(t["imbalance.0.ratio"] == 4) & (t["scheme"] == "inverse_frequency")
            & (t["metric"] == "balanced_accuracy")].iloc[0]
    values = [r.summary["balanced_accuracy"] for r, v in zip(swept.runs, swept.values)
              if v["imbalance.0.ratio"] == 4 and r.config.scheme == "inverse_frequency"]
    assert len(values) == 2 and np.isclose(row["mean"], np.mean(values))
    assert row["ci_low"] <= row["mean"] <= row["ci_high"]
    hist = swept.frame("history")
    assert {"scheme", "seed", "key", "imbalance.0.ratio"} <= set(hist.columns)
    assert set(hist["imbalance.0.ratio"]) == {1, 4}


def test_figure_draws_a_line_and_band_per_scheme(swept):
    fig = swept.figure(metric="balanced_accuracy")
    lines = [tr for tr in fig.data if tr.mode == "lines+markers"]
    assert [tr.name for tr in lines] == ["uniform", "inverse_frequency"]
    assert all(list(tr.x) == [1, 4] for tr in lines)
    assert sum(tr.fill == "toself" for tr in fig.data) == 2
    assert fig.layout.xaxis.title.text == "long tail ratio (largest / smallest class size)"
    dots = [tr for tr in fig.data if tr.mode == "markers"]  # one dot per run, scheme's colour
    assert [tr.name for tr in dots] == ["uniform: one dot per seed",
                                        "inverse_frequency: one dot per seed"]
    assert [tr.marker.color for tr in dots] == [tr.line.color for tr in lines]
    assert sum(len(tr.y) for tr in dots) == len(swept.runs)
    with pytest.raises(ValueError, match="valid: imbalance.0.ratio, scheme"):
        swept.figure(x="lr")
    with pytest.raises(ValueError, match="metrics in the sweep"):
        swept.figure(metric="nope")
    assert is_empty_figure(sweep_lines(swept.table.iloc[:0]))


def test_figure_over_a_scheme_parameter_joins_variants_and_draws_references():
    t = pd.DataFrame({"scheme_params.r": [None, 0.5, 1.0],
                      "scheme": ["uniform", "linupper(r=0.5)", "linupper(r=1.0)"],
                      "metric": ["accuracy"] * 3, "mean": [0.8, 0.7, 0.9], "std": [0.1] * 3,
                      "ci_low": [0.7, 0.6, 0.8], "ci_high": [0.9, 0.8, 1.0], "n": [2] * 3})
    lines = {tr.name: tr for tr in sweep_lines(t, metric="accuracy").data
             if tr.mode == "lines+markers"}
    assert list(lines["linupper"].x) == [0.5, 1.0]
    ref = lines["uniform (no scheme_params.r)"]
    assert list(ref.x) == [0.5, 1.0] and list(ref.y) == [0.8, 0.8]


def test_cli_sweeps_a_yaml_file_and_rejects_bad_ones(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "store"))
    good = tmp_path / "grid.yaml"
    good.write_text("base: {dataset: blobs2d, dataset_params: {n_per_class: 40}, "
                    "model: linear, epochs: 1}\ngrid:\n  lr: [0.01, 0.1]\nseeds: [0]\n")
    assert main(["sweep", str(good), "--workers", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["info"]["trained"] == 2 and len(out["runs"]) == 2
    assert {r["lr"] for r in out["table"]} == {0.01, 0.1}
    assert main(["sweep", str(good), "--workers", "1"]) == 0
    assert "2 runs (0 trained, 2 loaded" in capsys.readouterr().out
    bad = {"syntax.yaml": "base: [unclosed\n", "keys.yaml": "base: {}\nextra: 1\n",
           "field.yaml": "base: {epoch: 1}\n", "path.yaml": "grid: {imbalance.0.ratio: [2]}\n"}
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
        assert main(["sweep", str(tmp_path / name)]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
    assert main(["sweep", str(good), "--address", "auto"]) == 2
    assert "--backend ray" in capsys.readouterr().err


def test_example_sweep_file_expands_to_eighteen_configs():
    base, grid, seeds = read_sweep_file(str(EXAMPLE))
    configs, _ = expand_grid(base, grid, seeds)
    assert len(configs) == 18 and {c.dataset for c in configs} == {"digits"}


def test_ray_backend_without_ray_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # `import ray` fails
    with pytest.raises(ValueError, match=r"pip install 'workbench\[ray\]'"):
        sweep(BASE, {"imbalance.0.ratio": [3]}, store=store_at(tmp_path), backend="ray")


def test_ray_backend_stores_the_same_runs_as_the_local_one(tmp_path, swept, monkeypatch):
    try:
        import ray
    except ImportError:
        if os.environ.get("CI") == "true":
            raise  # CI installs ray (the dev extra): this test must run there
        pytest.skip("ray is not installed here (pip install 'workbench[ray]'); CI runs this")
    monkeypatch.setenv("RAY_DEDUP_LOGS", "0")
    sw = sweep(BASE, GRID, SEEDS, store=store_at(tmp_path), backend="ray", workers=2)
    assert not ray.is_initialized()  # the local instance we started is shut down
    assert sw.info["backend"] == "ray" and sw.info["trained"] == 8
    assert [r.key for r in sw.runs] == [r.key for r in swept.runs]
    for a, b in zip(sw.runs, swept.runs):
        assert a.summary == pytest.approx(b.summary, abs=1e-6)
    assert len(store_at(tmp_path).list(status="done")) == 8
