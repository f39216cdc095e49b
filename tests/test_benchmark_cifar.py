"""``benchmarks/cifar_lt.py``: its recipe is the published one, and it runs (tiny sizes).

The published comparison itself needs the real files and a GPU-sized budget; here the
script's recipe section runs on a synthetic stand-in with the small ``cnn`` for 2 epochs.
"""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "cifar_lt.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("cifar_lt", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_recipe_is_cao_et_al_s(bench):
    cfg = bench.recipe(200, "resnet32", "/data", "auto")
    assert (cfg.model, cfg.epochs, cfg.batch_size, cfg.optimizer, cfg.lr, cfg.momentum,
            cfg.weight_decay, cfg.warmup_epochs, cfg.lr_schedule, cfg.lr_milestones,
            cfg.lr_gamma) == ("resnet32", 200, 128, "sgd", 0.1, 0.9, 2e-4, 5.0, "step",
                              [160, 180], 0.01)
    assert cfg.dataset == "cifar10_lt" and cfg.dataset_params["ratio"] == 100
    assert bench.SCHEMES["drw"] == {"start_epoch": 160}
    short = bench.recipe(3, "cnn", "/data", "cpu")
    assert short.lr_milestones == [2] and bench.scaled(160, 3) == 2


def test_the_recipe_section_runs_on_a_stand_in(bench, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = bench.main(["--sections", "recipe", "--synthetic", "--synthetic-per-class", "200",
                       "--epochs", "2", "--model", "cnn", "--device", "cpu", "--out", str(out)])
    assert code == 0
    rows = json.loads(out.read_text())["recipe"]["rows"]
    assert [r["scheme"] for r in rows] == ["uniform", "inverse_frequency", "drw(start_epoch=1)",
                                           "logit_adjustment"]
    assert all(0 <= r["test top-1 %"] <= 100 for r in rows)
    assert rows[0]["published %"].startswith("71.36")


def test_missing_files_stop_the_recipe_with_the_fetch_command(bench, tmp_path, capsys):
    assert bench.main(["--sections", "recipe", "--root", str(tmp_path)]) == 2
    assert "workbench data fetch cifar10" in capsys.readouterr().err
