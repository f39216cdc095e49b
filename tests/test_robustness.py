"""Nothing stale, nothing silent (issue 10): the store keys what a run read, repeated seeds or
schemes are errors, bad data and bad flags get one line on stderr and exit code 2, and
JSON output is strict.

The CLI is driven through ``workbench.cli.main`` (the code ``python -m workbench`` runs),
with a private store per test; one test runs the real command line in a subprocess to
check that a damaged store never prints a traceback.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.cli import main
from workbench.sweep_grid import expand_grid

FAST = ["--dataset", "blobs2d", "--model", "linear", "--epochs", "1"]


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], lines[0]


def strict_loads(text: str):
    def refuse(token):
        raise ValueError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def write_csv(path, flip: bool = False, n: int = 200) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    y = (x > 0).astype(int)
    pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": 1 - y if flip else y}).to_csv(
        path, index=False)


# ---- stale or pooled results -------------------------------------------------------
def test_editing_a_csv_in_place_trains_again(tmp_path):
    path = tmp_path / "data.csv"
    write_csv(path)
    store = wb.RunStore(tmp_path / "store")
    cfg = wb.RunConfig(dataset="csv", dataset_params={"path": str(path), "target": "y"},
                       model="linear", epochs=3)
    first = store.train(cfg)
    assert store.train(cfg).key == first.key  # unchanged file: loaded, same key
    write_csv(path, flip=True)  # same path, new content (the labels flipped)
    second = store.train(cfg)
    assert second.key != first.key
    fresh = wb.train(cfg)
    assert second.summary == pytest.approx(fresh.summary)  # trained on the new content
    assert second.summary["accuracy"] != pytest.approx(first.summary["accuracy"])
    assert len(store.list()) == 2


def test_a_file_based_data_set_declares_its_files(tmp_path):
    from workbench.data.fingerprint import data_fingerprint, file_digest

    path = tmp_path / "d.csv"
    write_csv(path)
    fp = data_fingerprint("csv", {"path": str(path), "target": "y"})
    import hashlib

    assert fp == {str(path): hashlib.sha256(path.read_bytes()).hexdigest()}
    assert file_digest(path) == fp[str(path)]
    assert data_fingerprint("digits", {}) == {}  # data sets that read no user file
    cfg = wb.RunConfig(dataset="digits")
    assert wb.RunStore(tmp_path / "s").key(cfg) == cfg.key(wb.RunStore(tmp_path / "s")
                                                           .code_version)


def test_repeated_seeds_or_schemes_are_errors_in_the_api():
    cfg = wb.RunConfig(dataset="blobs2d", model="linear", epochs=1)
    with pytest.raises(ValueError, match=r"seed 0 is listed 3 times"):
        wb.compare(cfg, ["uniform"], [0, 0, 0])
    with pytest.raises(ValueError, match=r"scheme entry 'uniform' is listed twice"):
        wb.compare(cfg, ["uniform", ("uniform", {})], [0, 1])
    # r=1.0 is the default: both entries are 'linupper' (one store key, one label)
    with pytest.raises(ValueError, match=r"'linupper' is listed twice \(entries 1 and 2\)"):
        wb.compare(cfg, ["linupper", ("linupper", {"r": 1.0})], [0])  # r=1.0 is the default
    with pytest.raises(ValueError, match=r"seed 1 is listed 2 times"):
        wb.sweep(cfg, {"lr": [0.01]}, seeds=[0, 1, 1])
    with pytest.raises(ValueError, match=r"grid 'scheme' lists 'uniform' 2 times"):
        expand_grid(cfg, {"scheme": ["uniform", "linupper", "uniform"]}, [0])


def test_repeated_seeds_or_schemes_are_errors_in_the_cli(capsys, tmp_path):
    store = ["--store", str(tmp_path / "store")]
    code, _, err = cli(capsys, "compare", *FAST, *store, "--seeds", "0,0,0")
    one_line_error(code, err, "seed 0 is listed 3 times")
    code, _, err = cli(capsys, "compare", *FAST, *store, "--schemes", "uniform;uniform")
    one_line_error(code, err, "scheme entry 'uniform' is listed twice")
    grid = tmp_path / "dup.yaml"
    grid.write_text("base: {dataset: blobs2d, model: linear, epochs: 1}\n"
                    "grid: {scheme: [uniform, uniform]}\nseeds: [0]\n")
    code, _, err = cli(capsys, "sweep", str(grid), *store)
    one_line_error(code, err, "grid 'scheme' lists 'uniform' 2 times")
    assert wb.RunStore(tmp_path / "store").list().empty


# ---- bad input, one line each --------------------------------------------------------
def test_infinite_or_huge_csv_values_are_a_data_error_and_nothing_is_stored(capsys, tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=100), "z": rng.normal(size=100),
                       "y": (rng.random(100) > 0.5).astype(float)})
    df.loc[3, "x"] = np.inf
    df.loc[[5, 6], "z"] = -1e308
    df.loc[7, "y"] = -np.inf
    path = tmp_path / "inf.csv"
    df.to_csv(path, index=False)
    store = tmp_path / "store"
    code, out, err = cli(capsys, "run", "--dataset", "csv", "--dataset-param",
                         f"path={path},target=y", "--epochs", "1", "--store", str(store))
    one_line_error(code, err, "'x' (1 row)", "'z' (2 rows)", "'y' (1 row)", "1e+150")
    assert out == "" and wb.RunStore(store).list().empty
    with pytest.raises(ValueError, match="infinite or huge values"):  # the API says the same
        wb.RunConfig(dataset="csv", dataset_params={"path": str(path), "target": "y"}).validate()


def test_a_config_file_holding_a_list_is_one_line(capsys, tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text("[1, 2]")
    code, _, err = cli(capsys, "run", "--config", str(path), "--no-store")
    one_line_error(code, err, "must hold a JSON object", "got a JSON list")


def test_a_store_path_that_is_a_file_is_one_line(capsys, tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    code, _, err = cli(capsys, "run", *FAST, "--store", str(afile))
    one_line_error(code, err, f"run store {afile} must be a folder, but {afile} is a file")
    code, _, err = cli(capsys, "run", *FAST, "--store", str(afile / "inner"))
    one_line_error(code, err, f"but {afile} is a file")  # the file in the way, not a guess
    monkeypatch.setenv("WORKBENCH_STORE", str(afile))
    code, _, err = cli(capsys, "runs")
    one_line_error(code, err, "must be a folder")
    assert afile.read_text() == "not a folder"


def test_a_damaged_index_is_named_with_how_to_move_it_aside_and_runs_are_kept(tmp_path):
    root = tmp_path / "store"
    store = wb.RunStore(root)
    run = store.train(wb.RunConfig(dataset="blobs2d", model="linear", epochs=1))
    index = root / "index.sqlite"
    for extra in ("-wal", "-shm"):
        (root / f"index.sqlite{extra}").unlink(missing_ok=True)
    index.write_bytes(b"this is not a database" * 100)
    env = {**os.environ, "WORKBENCH_STORE": str(root)}
    for args in (["runs"], ["run", *FAST]):
        p = subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                           text=True, env=env, timeout=120)
        one_line_error(p.returncode, p.stderr, str(index), "is damaged", "mv ", "kept")
        assert "Traceback" not in p.stderr
    assert (root / "runs" / run.key / "meta.json").is_file()  # the runs were not touched
    index.rename(root / "index.sqlite.damaged")  # what the message says to do
    again = wb.RunStore(root)
    assert list(again.list()["key"]) == [run.key]
    assert again.load(run.key).summary == run.summary
    with sqlite3.connect(root / "index.sqlite") as con:
        assert con.execute("SELECT status FROM runs").fetchall() == [("done",)]


def test_all_json_output_is_strict(capsys, tmp_path):
    store = ["--store", str(tmp_path / "store")]
    code, out, _ = cli(capsys, "compare", *FAST, *store, "--seeds", "0", "--json")
    assert code == 0
    table = strict_loads(out)["table"]
    assert table and all(row["std"] is None and row["n"] == 1 for row in table)
    code, out, _ = cli(capsys, "run", *FAST, *store, "--json")
    assert code == 0 and strict_loads(out)["status"] == "done"
    grid = tmp_path / "g.yaml"
    grid.write_text("base: {dataset: blobs2d, model: linear, epochs: 1}\n"
                    "grid: {lr: [0.01]}\nseeds: [0]\n")
    code, out, _ = cli(capsys, "sweep", str(grid), *store, "--workers", "1", "--json")
    assert code == 0 and strict_loads(out)["table"][0]["ci_low"] is None


def test_schemes_joined_by_commas_with_parameters_say_to_use_semicolons(capsys):
    code, _, err = cli(capsys, "compare", *FAST, "--no-store", "--schemes",
                       "uniform,linupper:r=0.5")
    one_line_error(code, err, "separate schemes with ';'", "'uniform;linupper:r=0.5'")


@pytest.mark.parametrize("flag", ["--scheme-param", "--dataset-param", "--model-param"])
def test_messages_name_flags_as_typed(capsys, flag):
    code, _, err = cli(capsys, "run", "--no-store", flag, "r")
    one_line_error(code, err, f"{flag} expects key=value")


def test_list_never_cuts_a_description_mid_word(capsys):
    code, out, _ = cli(capsys, "list")
    assert code == 0
    shown = {line.split()[0]: line.split(None, 1)[1] for line in out.splitlines()
             if line.startswith("  ")}
    for reg in (wb.DATASETS, wb.TRANSFORMS, wb.SCHEMES, wb.MODELS):
        for name in reg.names():
            full, text = " ".join(reg.describe(name).split()), shown[name]
            assert text == full or (text.endswith(" ...") and
                                    (full + " ").startswith(text[:-4] + " ")), (name, text)


def test_absurd_training_set_sizes_are_refused_with_the_limit(capsys):
    code, _, err = cli(capsys, "run", "--dataset", "digits", "--imbalance",
                       "duplicates:copies=1000,fraction=1", "--no-store")
    one_line_error(code, err, "1001-fold", "the limit is 10x")
    from workbench.data.prepare import load_prepared

    twice = [{"kind": "duplicates", "fraction": 1.0, "copies": 4}] * 2  # 5 x 5 = 25-fold
    with pytest.raises(ValueError, match=r"grew the training split .* the limit is 10x"):
        load_prepared("blobs2d", {}, twice, 0)


def test_progress_bars_on_request(capsys, tmp_path):
    code, _, err = cli(capsys, "compare", *FAST, "--store", str(tmp_path / "s"), "--seeds",
                       "0,1", "--progress")
    assert code == 0 and "compare:" in err and "it/s" in err


def test_cli_compare_prints_mean_plus_minus_half_width_and_n(capsys, tmp_path):
    from scipy import stats

    code, out, _ = cli(capsys, "compare", *FAST, "--store", str(tmp_path / "s"),
                       "--seeds", "0,1,2")
    assert code == 0
    cmp = wb.compare(wb.RunConfig(dataset="blobs2d", model="linear", epochs=1),
                     ["uniform", "inverse_frequency"], [0, 1, 2])
    row = cmp.table.set_index(["scheme", "metric"]).loc[("uniform", "accuracy")]
    half = stats.t.ppf(0.975, 2) * row["std"] / np.sqrt(3)
    line = next(line for line in out.splitlines() if line.startswith("uniform"))
    assert line.split()[1] == "3"  # n
    if row["clipped"]:  # cut at the metric's range [0, 1]: not symmetric, shown as bounds
        assert row["ci_low"] == max(0.0, row["mean"] - half)
        assert f"{row['mean']:.4f} [{row['ci_low']:.4f}, {row['ci_high']:.4f}]" in line
    else:
        assert f"{row['mean']:.4f} ± {half:.4f}" in line
    nll = cmp.table.set_index(["scheme", "metric"]).loc[("uniform", "nll")]  # unbounded above
    nll_half = stats.t.ppf(0.975, 2) * nll["std"] / np.sqrt(3)
    assert not nll["clipped"] and f"{nll['mean']:.4f} ± {nll_half:.4f}" in line


def test_a_comparison_of_stored_runs_never_pools_experiments(tmp_path):
    store = wb.RunStore(tmp_path / "store")
    base = wb.RunConfig(dataset="blobs2d", model="linear", epochs=1)
    a = store.train_many([base.replace(seed=s) for s in (0, 1)])
    b = store.train_many([base.replace(seed=s, epochs=2) for s in (0, 1)])
    listed = store.list().set_index("key")["experiment"]
    assert listed[a[0].key] == listed[a[1].key] != listed[b[0].key]
    assert len(store.comparison([r.key for r in a]).runs) == 2
    with pytest.raises(ValueError, match="belong to 2 experiments"):
        store.comparison([r.key for r in a + b])


@pytest.mark.parametrize("args, message", [
    (["--batch-size", "0"], "--batch-size: batch_size must be an integer >= 1, got 0"),
    (["--weight-decay=-1"], "--weight-decay: weight_decay must be a finite number >= 0, got -1"),
    (["--eval-every", "0"], "--eval-every: eval_every must be an integer >= 1"),
])
def test_config_errors_name_the_flag_as_typed(capsys, args, message):
    code, _, err = cli(capsys, "run", "--no-store", *args)
    one_line_error(code, err, message)


def test_cli_sweep_prints_clipped_intervals_as_bounds(capsys, tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("base: {dataset: blobs2d, model: linear, epochs: 1}\n"
                    "grid: {scheme: [uniform, inverse_frequency]}\nseeds: [0, 1]\n")
    code, out, _ = cli(capsys, "sweep", str(grid), "--store", str(tmp_path / "s"),
                       "--workers", "1")
    assert code == 0
    sw = wb.sweep(wb.RunConfig(dataset="blobs2d", model="linear", epochs=1),
                  grid={"scheme": ["uniform", "inverse_frequency"]}, seeds=[0, 1],
                  store=wb.RunStore(tmp_path / "s"))
    clipped = sw.table[sw.table["clipped"]]
    assert len(clipped)  # two seeds of one epoch: wide intervals, cut at [0, 1]
    for r in clipped.to_dict(orient="records"):
        assert f"{r['mean']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]" in out
    assert (sw.table["ci_low"] >= 0).all()
