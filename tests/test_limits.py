"""Configs too big for the data or the machine are refused before training, by name.

Why: a new user's ``--model-param hidden=[100000000]`` ended in torch's allocation
traceback, and a batch size of 1e9 passed the app's sidebar and left three ``failed`` runs
in the store. Both are config errors: one line (CLI, exit 2), a message beside the control
(app, Run disabled), and nothing stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import workbench as wb
from wbui.experiment import Experiment
from workbench import engine
from workbench.nets.base import MAX_PARAMS, count_params
from workbench.store import RunStore

ROOT = Path(__file__).resolve().parents[1]


def cli(tmp_path, *args):
    env = {**os.environ, "WORKBENCH_STORE": str(tmp_path / "store"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=tmp_path)


@pytest.mark.parametrize("model, params, field", [
    ("mlp", {"hidden": [100_000_000]}, "hidden"),
    ("mlp", {"hidden": [60_000, 60_000]}, "hidden"),
    ("cnn1d", {"channels": 1024, "kernel": 63, "layers": 8}, "channels"),
    ("transformer", {"d_model": 100_000}, "d_model"),
    ("transformer", {"d_model": 4096, "n_layers": 8}, "d_model"),
    ("transformer", {"max_len": 10_000_000}, "max_len"),
])
def test_a_model_too_big_is_refused_at_config_time(model, params, field):
    with pytest.raises(wb.ConfigError) as err:
        wb.MODELS.create(model, **params)
    assert err.value.field == field
    assert "65536" in str(err.value) or f"{MAX_PARAMS:,}" in str(err.value)


def test_the_real_parameter_count_is_checked_once_the_data_is_known():
    # 65,536 hidden units pass on their own; on 64 inputs and 10 classes the model has
    # 4.9M parameters (allowed); a three-layer stack of 5,000 passes the hidden-to-hidden
    # bound (50M) but not the real count with its input and output layers
    assert count_params(wb.MODELS.create("mlp", hidden=[16]), 8, 3) == 8 * 16 + 16 + 16 * 3 + 3
    wb.RunConfig(model_params={"hidden": [65_536]}).validate()
    cfg = wb.RunConfig(model_params={"hidden": [5000, 5000, 5000]})
    with pytest.raises(wb.ConfigError, match="50,000,000 parameters") as err:
        cfg.validate()
    assert err.value.owner == "model"


def test_cli_refuses_a_huge_model_in_one_line(tmp_path):
    out = cli(tmp_path, "run", "--model-param", "hidden=[100000000]", "--epochs", "1",
              "--no-store")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == (
        "error: --model-param hidden: mlp hidden must be a list of widths in 1..65536, e.g. "
        "hidden=[128,128] (or hidden=256 for one layer), got [100000000]")


def test_batch_size_is_checked_against_the_training_split_before_run():
    cfg = wb.RunConfig(batch_size=10**9, imbalance=[{"kind": "longtail", "ratio": 50}])
    with pytest.raises(wb.ConfigError, match=r"allowed: 1\.\.\d+") as err:
        cfg.validate()
    assert (err.value.owner, err.value.field) == ("run", "batch_size")
    assert list(Experiment(cfg, [("uniform", {})], [0, 1, 2]).problems()) == ["batch_size"]


def test_a_config_error_at_training_time_stores_no_failed_run(tmp_path, monkeypatch):
    store, cfg = RunStore(tmp_path), wb.RunConfig(epochs=1)

    def slipped(*a, **k):  # a config error that only training finds
        raise wb.ConfigError("batch_size 64 is larger than the training split", "run",
                             "batch_size")

    monkeypatch.setattr(engine, "train", slipped)
    with pytest.raises(wb.ConfigError):
        store.train(cfg)
    assert store.list().empty


def test_a_memory_error_marks_the_run_failed_with_one_line(tmp_path, monkeypatch):
    store, cfg = RunStore(tmp_path), wb.RunConfig(epochs=1)

    def oom(*a, **k):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: "
                           "can't allocate memory: you tried to allocate 25600000000 bytes. "
                           "Error code 12 (Cannot allocate memory)\nException raised from ...")

    monkeypatch.setattr(engine, "train", oom)
    with pytest.raises(RuntimeError):
        store.train(cfg)
    row = store.list().iloc[0]
    assert row["status"] == "failed"
    assert row["message"] == ("out of memory: DefaultCPUAllocator: can't allocate memory: you "
                              "tried to allocate 25600000000 bytes. Error code 12 (Cannot "
                              "allocate memory)")


def test_cli_reports_a_memory_error_in_one_line(monkeypatch, capsys):
    from workbench import cli as wbcli

    def oom(*a, **k):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: "
                           "can't allocate memory\nframes ...")

    monkeypatch.setattr(wb, "train", oom)
    assert wbcli.main(["run", "--epochs", "1", "--no-store"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: out of memory: DefaultCPUAllocator: can't allocate memory (a smaller "
                   "model or batch size needs less)"]


@pytest.mark.parametrize("text, hidden", [("hidden=256", [256]), ("hidden=128,128", [128, 128]),
                                          ("hidden=[64,32]", [64, 32])])
def test_hidden_accepts_a_bare_width_and_a_comma_list(text, hidden):
    from workbench.cli import build_parser, config_from_args

    args = build_parser().parse_args(["run", "--model-param", text])
    cfg = config_from_args(args)
    assert wb.MODELS.create(cfg.model, **cfg.model_params).hidden == hidden


def test_the_app_shows_a_too_large_batch_beside_its_control(app, tmp_path):
    at = app  # the conftest fixture: fresh store, started
    at.number_input(key="batch_size").set_value(10**9).run()
    assert [e.value for e in at.error if "batch_size" in e.value][0].startswith(
        "batch_size 1000000000 is larger than the training split")
    assert at.button(key="run").disabled
    at.text_input(key="model_mlp_hidden").set_value("100000000").run()
    assert any("65536" in e.value for e in at.error) and at.button(key="run").disabled
    assert not (tmp_path / "store").exists() or RunStore(tmp_path / "store").list().empty
