"""Your own data and model from Python: ``wb.ArrayData`` and ``model=factory``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import workbench as wb
from workbench.own import module_key

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
BASE = wb.RunConfig(epochs=10, batch_size=32, model="linear", lr=1e-2)


def arrays(n=240, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(np.int64)
    g = np.where(X[:, 1] > 0.8, "rare", "common")
    return X, y, g


def mlp(n_in, n_out):
    return nn.Sequential(nn.Linear(n_in, 16), nn.ReLU(), nn.Linear(16, n_out))


class Normed(nn.Module):
    """A module with a buffer (BatchNorm): trained alone, never as a stacked replica."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                 nn.Linear(8, n_out))

    def forward(self, x):
        return self.net(x)


def test_array_data_trains_end_to_end_and_is_reproducible():
    X, y, g = arrays()
    data = wb.ArrayData(X, y, groups=g, name="toy")
    a = wb.train(BASE, data=data)
    b = wb.train(BASE, data=wb.ArrayData(X.copy(), y.copy(), groups=g.copy(), name="toy"))
    assert a.status == "done" and a.summary == b.summary
    assert a.config.dataset == "arrays"
    assert a.config.dataset_params == {"key": data.key, "title": "toy", "val": 0.15, "test": 0.2}
    assert a.info["group_names"] == ["common", "rare"] and a.info["class_names"] == ["0", "1"]
    assert a.info["n_train"] + a.info["n_val"] + a.info["n_test"] == 240
    assert "ArrayData 'toy'" in a.info["notes"]
    json.dumps(a.config.to_dict())  # the config stays plain JSON
    assert a.summary["accuracy"] > 0.8


def test_content_key_follows_bytes_dtype_shape_and_names():
    X, y, g = arrays()
    key = wb.ArrayData(X, y, groups=g).key
    assert wb.ArrayData(X.astype(np.float64), y, groups=g).key == key  # what the run sees
    X2 = X.copy()
    X2[5, 3] += 1e-3
    assert wb.ArrayData(X2, y, groups=g).key != key
    assert wb.ArrayData(X, y, groups=None).key != key
    assert wb.ArrayData(X.reshape(240, 3, 2), y, groups=g).key != key
    assert wb.ArrayData(X, y, groups=g, class_names=["neg", "pos"]).key != key
    assert wb.ArrayData(X, y.astype(np.float32) + 0.5).task == "regression"


def test_store_keys_differ_for_arrays_and_models_and_stored_runs_load(tmp_path):
    store = wb.RunStore(tmp_path / "store")
    X, y, g = arrays()
    first = wb.train(BASE, data=wb.ArrayData(X, y, groups=g, name="waterbirds"), store=store)
    again = wb.train(BASE, data=wb.ArrayData(X, y, groups=g, name="waterbirds"), store=store)
    assert again.key == first.key and again.model is None  # loaded, not trained
    X2, y2, g2 = arrays(seed=1)
    other = wb.train(BASE, data=wb.ArrayData(X2, y2, groups=g2, name="waterbirds"), store=store)
    assert other.key != first.key
    m1 = wb.train(BASE, data=wb.ArrayData(X, y, groups=g), model=mlp, store=store)
    m2 = wb.train(BASE, data=wb.ArrayData(X, y, groups=g), model=Normed, store=store)
    assert len({first.key, m1.key, m2.key}) == 3
    assert m1.config.model_params["title"] == "test_own_api.mlp"
    assert m2.config.model_params["title"] == "test_own_api.Normed"
    # a fresh process, without the arrays or the module, loads the stored runs
    code = ("import sys, workbench as wb; s = wb.RunStore(sys.argv[1]); r = s.load(sys.argv[2]);"
            "print(r.config.dataset, r.config.dataset_params['title'], r.status, "
            "r.info['notes'].split(':')[0]); print(len(s.list()))")
    out = subprocess.run([sys.executable, "-c", code, str(store.root), first.key],
                         capture_output=True, text=True, check=True, env=ENV).stdout.split("\n")
    assert out[0] == "arrays waterbirds done ArrayData 'waterbirds'" and out[1] == "4"
    # ... and training them again there says what is missing, in one line
    code = ("import sys, workbench as wb; r = wb.RunStore(sys.argv[1]).load(sys.argv[2]);"
            "wb.train(r.config)")
    err = subprocess.run([sys.executable, "-c", code, str(store.root), m1.key],
                         capture_output=True, text=True, env=ENV).stderr.strip().splitlines()[-1]
    assert "are not loaded in this process: pass data=wb.ArrayData(...)" in err


def test_model_factory_trains_reproducibly_alone_and_in_compare():
    X, y, g = arrays()
    data = wb.ArrayData(X, y, groups=g)
    a = wb.train(BASE, data=data, model=mlp)
    b = wb.train(BASE, data=data, model=mlp)
    c = wb.train(BASE.replace(seed=1), data=data, model=mlp)
    assert a.status == "done" and a.summary == b.summary and a.summary != c.summary
    assert a.config.model == "module"
    cmp = wb.compare(BASE, schemes=["uniform", "group_dro"], seeds=[0, 1], data=data,
                     model=Normed)
    assert [r.status for r in cmp.runs] == ["done"] * 4
    assert {r.info["execution"] for r in cmp.runs} == {
        "sequential: a user's module may hold buffers or operations without a vmap batching "
        "rule"}
    # a factory on a built-in data set: n_in and n_out come from the data
    run = wb.train(wb.RunConfig(dataset="digits", epochs=1), model=mlp)
    assert run.status == "done" and run.model[0].in_features == 64
    assert run.model[-1].out_features == 10


def test_module_key_covers_architecture_and_initialisation():
    k = module_key(mlp, 6, 2)
    assert k == module_key(mlp, 6, 2) and k != module_key(mlp, 7, 2)
    assert k != module_key(lambda i, o: nn.Sequential(nn.Linear(i, 16), nn.Tanh(),
                                                      nn.Linear(16, o)), 6, 2)

    def zero_init(n_in, n_out):
        m = mlp(n_in, n_out)
        nn.init.zeros_(m[0].weight)
        return m

    assert k != module_key(zero_init, 6, 2)
    state = torch.random.get_rng_state()
    module_key(Normed, 6, 2)
    assert torch.equal(state, torch.random.get_rng_state())  # the caller's seed untouched


def test_own_api_errors():
    X, y, g = arrays()
    cases = [
        (lambda: wb.ArrayData(X[:, 0], y), "ArrayData X must be at least 2-D (samples x "
                                           "features), got shape (240,)"),
        (lambda: wb.ArrayData(X, y[:-1]), "ArrayData arrays disagree in length: X has 240 "
                                          "rows, y has 239"),
        (lambda: wb.ArrayData(X.astype(str), y), "ArrayData X must be numeric, got dtype <U"),
        (lambda: wb.ArrayData(np.where(X > 2, np.nan, X), y), "ArrayData X has "),
        (lambda: wb.ArrayData(X, np.zeros(240, int)), "ArrayData y has one class ('0'); a "
                                                       "classifier needs at least 2"),
        (lambda: wb.ArrayData(X, y, split=["train", "val", "oops"] * 80),
         "ArrayData split has values 'oops'; allowed: train, val, test (or 0, 1, 2)"),
        (lambda: wb.ArrayData(X, y, task="ranking"), "ArrayData task must be one of auto, "),
        (lambda: wb.train(BASE, data=(X, y)), "data= takes a wb.ArrayData(X, y, groups=...), "
                                              "got tuple"),
        (lambda: wb.train(BASE, data=wb.ArrayData(X, y), model=mlp(6, 2)),
         "model= takes a factory that builds a fresh module for each run"),
        (lambda: wb.train(BASE, data=wb.ArrayData(X, y), model=lambda i, o: 3),
         "model factory test_own_api.test_own_api_errors.<lambda>.<lambda>(6, 2) returned "
         "type int, not a torch.nn.Module"),
        (lambda: wb.train(wb.RunConfig(dataset="arrays")),
         "arrays come from Python: wb.train(cfg, data=wb.ArrayData(X, y, groups=g))"),
        (lambda: wb.train(wb.RunConfig(model="module")),
         "model 'module' comes from Python: wb.train(cfg, model=factory)"),
        (lambda: wb.train(wb.RunConfig(dataset="arrays", dataset_params={"key": "0" * 16})),
         f"arrays 'arrays' (key {'0' * 16}) are not loaded in this process"),
    ]
    for make, message in cases:
        with pytest.raises(ValueError) as err:
            make()
        assert str(err.value).startswith(message), (message, str(err.value))


def test_split_given_and_images_with_own_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 1, 8, 8)).astype(np.float32)
    y = np.arange(90) % 3
    X[np.arange(90), 0, y, y] += 4.0  # a bright pixel on the diagonal says the class
    split = np.repeat([0, 1, 2], 30)
    data = wb.ArrayData(X, y, split=split, class_names=["a", "b", "c"])

    def cnn(n_in, n_out):  # n_in = channels (X.shape[1])
        return nn.Sequential(nn.Conv2d(n_in, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                             nn.Linear(4 * 64, n_out))

    run = wb.train(wb.RunConfig(epochs=15, batch_size=30, lr=1e-2), data=data, model=cnn)
    assert run.status == "done" and run.info["n_test"] == 30
    assert run.info["class_names"] == ["a", "b", "c"] and run.summary["accuracy"] > 0.6


@pytest.mark.parametrize("factory, message", [
    (lambda a, b: torch.nn.Linear(a, 5), "returns shape (2, 5) for a batch of shape (2, 4); a "
                                         "classification task with 2 classes needs (batch, 2)"),
    (lambda a, b: torch.nn.Linear(a, 1), "returns shape (2, 1)"),
    (lambda a, b: torch.nn.Linear(a + 3, b), "fails on a batch of shape (2, 4)"),
    (lambda a, b: torch.nn.Identity(), "has no trainable parameters"),
    (lambda a, b: torch.nn.Linear(a, b).double(), "its parameters are torch.float64"),
])
def test_a_wrong_model_factory_is_named_before_training(factory, message):
    """A factory whose module cannot train on the data says so in one message naming the
    factory, the input shape and the output expected (5 logits for 2 classes used to
    train silently)."""
    X = np.random.default_rng(0).normal(size=(200, 4)).astype("float32")
    data = wb.ArrayData(X, (X[:, 0] > 0).astype(int))
    with pytest.raises(ValueError, match="model factory .*" + re.escape(message)):
        wb.train(wb.RunConfig(epochs=1), data=data, model=factory)
