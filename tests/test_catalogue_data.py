"""The catalogue's data sets and model: mnist1d, cnn1d, compas, german, spurious_digits, csv."""

from __future__ import annotations

import random
from functools import cache

import numpy as np
import pandas as pd
import pytest
import torch

import workbench as wb
from workbench.data.spurious import BORDER

SPLITS = ("train", "val", "test")



@cache
def load(name: str, seed: int = 0, **params):
    """Bundles are shared between tests: each test must leave them unchanged."""
    return wb.DATASETS.create(name, **params).load(seed=seed)


def total(b) -> int:
    return sum(len(getattr(b, s)) for s in SPLITS)


def same_bundle(a, b) -> bool:
    return all(np.array_equal(getattr(a, s).X, getattr(b, s).X)
               and np.array_equal(getattr(a, s).y, getattr(b, s).y)
               and np.array_equal(getattr(a, s).g, getattr(b, s).g) for s in SPLITS)


# ---- mnist1d and cnn1d -------------------------------------------------------------------
def test_mnist1d_shapes_groups_and_determinism():
    b = load("mnist1d", n_samples=1000)
    assert [len(getattr(b, s)) for s in SPLITS] == [700, 100, 200]
    assert b.train.X.shape == (700, 40) and b.train.X.dtype == np.float32
    assert b.group_names == ["even", "odd"] and (b.train.g == b.train.y % 2).all()
    assert np.bincount(b.test.y).tolist() == [20] * 10  # stratified by class
    assert same_bundle(b, wb.DATASETS.create("mnist1d", n_samples=1000).load(seed=0))
    assert not same_bundle(b, load("mnist1d", seed=1, n_samples=1000))
    assert load("mnist1d", n_samples=1000, group_by="class").n_groups == 10
    with pytest.raises(ValueError, match="group_by"):
        wb.DATASETS.create("mnist1d", group_by="ink")


def test_mnist1d_leaves_global_random_state_alone():
    np.random.seed(3)
    random.seed(3)
    expected = (np.random.rand(), random.random())
    np.random.seed(3)
    random.seed(3)
    wb.DATASETS.create("mnist1d", n_samples=100, generator_seed=7).load(seed=0)
    assert (np.random.rand(), random.random()) == expected


def test_cnn1d_builds_for_any_length_and_validates():
    for n_in in (1, 2, 40, 64):
        net = wb.MODELS.create("cnn1d").build(n_in, 3)
        assert net(torch.zeros(5, n_in)).shape == (5, 3)
    for bad in ({"channels": 0}, {"kernel": 4}, {"layers": 0}, {"kernel": 2.5}):
        with pytest.raises(ValueError, match="cnn1d"):
            wb.MODELS.create("cnn1d", **bad)


def test_cnn1d_beats_linear_on_mnist1d():
    """Greydanus (2020): CNN ~94% vs logistic ~32%; here 700 training samples, 10 epochs."""
    acc = {}
    for model in ("linear", "cnn1d"):
        acc[model] = [wb.train(wb.RunConfig(
            dataset="mnist1d", dataset_params={"n_samples": 1000}, model=model, lr=1e-2,
            batch_size=50, epochs=10, eval_every=10, seed=seed, track=0)).summary["accuracy"]
            for seed in (0, 1)]
    assert max(acc["linear"]) < 0.36  # the paper's logistic regression: ~32%
    assert min(acc["cnn1d"]) > max(acc["linear"]) + 0.1, acc


# ---- compas and german -------------------------------------------------------------------
def test_compas_rows_groups_and_features():
    b = load("compas")
    assert total(b) == 6172  # the ProPublica filter
    assert b.group_names == ["African-American", "Caucasian", "Other"]
    all_g = np.concatenate([getattr(b, s).g for s in SPLITS])
    assert np.bincount(all_g).tolist() == [3175, 2103, 509 + 343 + 31 + 11]
    y = np.concatenate([getattr(b, s).y for s in SPLITS])
    assert abs(y.mean() - 0.455) < 0.001 and b.class_names == ["no recid", "recid"]
    names = b.extra["feature_names"]
    assert "priors_count" in names and not any("score" in n or "decile" in n for n in names)
    for group_by, n in (("sex", 2), ("age", 3), ("race_sex", 6)):
        other = load("compas", group_by=group_by)
        assert other.n_groups == n and np.array_equal(other.test.X, b.test.X)
    assert same_bundle(b, wb.DATASETS.create("compas").load(seed=0))
    assert not np.array_equal(load("compas", seed=1).test.ids, b.test.ids)


def test_german_rows_groups_and_label():
    b = load("german")
    assert total(b) == 1000 and b.class_names == ["bad", "good"]
    y = np.concatenate([getattr(b, s).y for s in SPLITS])
    assert y.sum() == 700  # last column 1 = good -> class 1
    g = np.concatenate([getattr(b, s).g for s in SPLITS])
    assert b.group_names == ["male", "female"] and (g == 1).sum() == 310  # A92 + A95
    age = load("german", group_by="age")
    assert sum((getattr(age, s).g == 1).sum() for s in SPLITS) == 149  # young: age < 25
    assert load("german", group_by="sex_age").n_groups == 4
    assert any(n.startswith("purpose=A43 radio") for n in b.extra["feature_names"])
    with pytest.raises(ValueError, match="group_by must be one of sex, age, sex_age"):
        wb.DATASETS.create("german", group_by="race")


# ---- spurious_digits ---------------------------------------------------------------------
@pytest.mark.parametrize("corr", [0.5, 0.8, 0.95])
def test_spurious_correlation_in_train_and_independence_in_test(corr):
    b = load("spurious_digits", correlation=corr)
    assert b.group_names == ["y=0,a=0", "y=0,a=1", "y=1,a=0", "y=1,a=1"]
    a_train = b.train.g % 2
    assert (b.train.g // 2 == b.train.y).all()
    assert abs((a_train == b.train.y).mean() - corr) < 0.005
    for split in ("val", "test"):
        s = getattr(b, split)
        assert abs(((s.g % 2) == s.y).mean() - 0.5) < 0.01
        counts = np.bincount(s.g, minlength=4)
        assert counts.max() - counts.min() <= 2  # balanced groups
    frame = b.train.X[:, BORDER.reshape(-1)]
    assert (frame[a_train == 1] >= 1.0).all()  # the attribute is drawn into the image
    assert frame[a_train == 0].mean() < 0.25  # digits seldom touch the border


def test_spurious_determinism_and_validation():
    b = load("spurious_digits")
    assert same_bundle(b, wb.DATASETS.create("spurious_digits").load(seed=0))
    assert not same_bundle(b, load("spurious_digits", seed=1))
    for bad in (0.4, 1.0):
        with pytest.raises(ValueError, match=r"correlation must be a number in \[0.5, 1\)"):
            wb.DATASETS.create("spurious_digits", correlation=bad)


# ---- csv ---------------------------------------------------------------------------------
def toy_frame(n: int = 60) -> pd.DataFrame:
    r = np.random.default_rng(0)
    df = pd.DataFrame({"x": r.normal(size=n), "color": r.choice(["red", "blue"], n),
                       "site": r.choice(["A", "B", "C"], n), "label": r.choice(["no", "yes"], n),
                       "price": r.normal(10, 3, n)})
    df.loc[[1, 5, 9], "x"] = np.nan
    df.loc[2::6, "color"] = np.nan
    return df


def write(tmp_path, df: pd.DataFrame, name: str = "data.csv") -> str:
    path = tmp_path / name
    df.to_csv(path, index=False)
    return str(path)


def test_csv_classification_with_groups_and_missing_values(tmp_path):
    df = toy_frame()
    df.loc[[3, 4], "label"] = np.nan
    path = write(tmp_path, df)
    b = wb.DATASETS.create("csv", path=path, target="label", group="site").load(seed=0)
    assert b.task == "classification" and b.class_names == ["no", "yes"]
    assert b.group_names == ["A", "B", "C"] and total(b) == 58
    assert "2 rows with a missing target dropped" in b.notes
    names = b.extra["feature_names"]
    assert names[:2] == ["x", "x was missing"] and "color=missing" in names
    assert "price" in names and "site=A" in names and not any("label" in n for n in names)
    assert all(np.isfinite(getattr(b, s).X).all() for s in SPLITS)
    gz = write(tmp_path, df, "data.csv.gz")  # gzipped CSVs are read too
    again = wb.DATASETS.create("csv", path=gz, target="label", group="site").load(seed=0)
    assert same_bundle(b, again)


def test_csv_regression_auto_and_training(tmp_path):
    path = write(tmp_path, toy_frame())
    b = wb.DATASETS.create("csv", path=path, target="price").load(seed=0)
    assert b.task == "regression" and b.group_names == ["all"]
    assert abs(b.train.y.mean()) < 1e-5 and b.extra["target_std"] > 0
    cfg = wb.RunConfig(dataset="csv", dataset_params={"path": path, "target": "label",
                                                      "group": "color"},
                       model="linear", epochs=1, batch_size=16)
    run = wb.train(cfg.validate())
    assert run.status == "done" and run.info["group_names"] == ["blue", "red", "missing"]
    run = wb.train(cfg.replace(dataset_params={"path": path, "target": "price"}))
    assert run.status == "done" and "mse" in run.summary


def csv_error(tmp_path, df=None, **params) -> str:
    if df is not None:
        params.setdefault("path", write(tmp_path, df))
    with pytest.raises(ValueError) as err:
        wb.DATASETS.create("csv", **params).load(seed=0)
    return str(err.value)


def test_csv_error_messages(tmp_path):
    df = toy_frame()
    cols = "x, color, site, label, price"
    assert csv_error(tmp_path) == "csv: `path` is required (the CSV file to read)"
    missing = tmp_path / "nope.csv"
    assert csv_error(tmp_path, path=str(missing)) == f"csv file not found: {missing}"
    assert csv_error(tmp_path, df, target="lable") == \
        f"csv target column 'lable' not found; columns: {cols}"
    assert csv_error(tmp_path, df, target="label", group="sight") == \
        f"csv group column 'sight' not found; columns: {cols}"
    assert csv_error(tmp_path, df.assign(label="yes"), target="label") == \
        "csv target 'label' has one class ('yes'); a classifier needs at least 2"
    assert csv_error(tmp_path, df.assign(empty=np.nan), target="label") == \
        "csv column 'empty' is entirely empty; remove it from the file"
    first = df["color"].dropna().iloc[0]
    assert csv_error(tmp_path, df, target="color", task="regression") == \
        f"csv target 'color' is not numeric (e.g. {first!r}), so task='regression' cannot " \
        "use it; use task='classification'"
    assert csv_error(tmp_path, df, target="label", group="x") == \
        "csv group column 'x' has 57 distinct values, more than max_categories=50; pick a " \
        "coarser column or raise max_categories"
    binary = tmp_path / "model.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    assert csv_error(tmp_path, path=str(binary), target="y") == \
        f"could not read {binary} as a CSV file: it holds binary data"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert csv_error(tmp_path, path=str(empty), target="y") == \
        f"could not read {empty} as a CSV file: the file is empty"
    with pytest.raises(ValueError, match="csv task must be one of auto, classification"):
        wb.RunConfig(dataset="csv", dataset_params={"task": "ranking"}).validate()
