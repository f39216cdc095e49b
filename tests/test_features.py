"""The ``features`` data set: .npz and .parquet embeddings, splits, errors, store key, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.cli import main
from workbench.data.features import example_arrays, example_params

SPLITS = ("train", "val", "test")


def arrays(n=120, d=6, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    g = (np.arange(n) // 2) % 3
    X = rng.normal(size=(n, d)) + 2.0 * y[:, None]
    return {"X": X, "y": y, "g": g}


def npz(tmp_path, name="emb.npz", **arrs) -> str:
    path = tmp_path / name
    np.savez(path, **arrs)
    return str(path)


def parquet(tmp_path, df, name="emb.parquet") -> str:
    path = tmp_path / name
    df.to_parquet(path)
    return str(path)


def load(**params):
    return wb.DATASETS.create("features", **params).load(seed=0)


def error(**params) -> str:
    with pytest.raises(ValueError) as err:
        load(**params)
    return str(err.value)


def test_npz_held_out_splits_are_stratified_seeded_and_standardised(tmp_path):
    a = arrays()
    b = load(path=npz(tmp_path, **a))
    assert b.task == "classification" and b.extra["split_from"] == "held out"
    assert sum(len(getattr(b, s)) for s in SPLITS) == 120 and len(b.test) == 24
    ids = np.concatenate([getattr(b, s).ids for s in SPLITS])
    assert sorted(ids) == list(range(120))
    for s in SPLITS:  # stratified by label x group: every group and class everywhere
        assert (b.counts(s)["group"] > 0).all() and (b.counts(s)["class"] > 0).all()
        np.testing.assert_array_equal(getattr(b, s).y, a["y"][getattr(b, s).ids])
    np.testing.assert_allclose(b.train.X.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(b.train.X.std(0), 1, atol=1e-4)
    raw = load(path=npz(tmp_path, **a), standardize=False)
    np.testing.assert_allclose(raw.test.X, a["X"][raw.test.ids], rtol=1e-6)
    other = wb.DATASETS.create("features", path=npz(tmp_path, **a)).load(seed=1)
    assert not np.array_equal(other.test.ids, b.test.ids)


def test_npz_split_array_strings_or_codes_and_names(tmp_path):
    a = arrays()
    words = np.array(["train", "val", "test", "train", "train"] * 24)
    b = load(path=npz(tmp_path, **a, split=words, class_names=np.array(["neg", "pos"])))
    assert b.extra["split_from"] == "file" and b.class_names == ["neg", "pos"]
    assert [len(getattr(b, s)) for s in SPLITS] == [72, 24, 24]
    np.testing.assert_array_equal(b.val.ids, np.flatnonzero(words == "val"))
    codes = np.array([0, 1, 2, 0, 0] * 24)
    c = load(path=npz(tmp_path, "codes.npz", **a, split=codes))
    np.testing.assert_array_equal(c.test.ids, b.test.ids)
    assert c.class_names == ["0", "1"] and c.group_names == ["0", "1", "2"]


def test_parquet_columns_list_column_and_string_labels(tmp_path):
    a = arrays()
    df = pd.DataFrame(a["X"], columns=[f"f{j}" for j in range(6)])
    df["bird"] = np.where(a["y"] == 1, "water", "land")
    df["place"] = np.where(a["g"] == 0, "lake", "forest")
    df["fold"] = ["train", "val", "test", "train", "train"] * 24
    b = load(path=parquet(tmp_path, df), label="bird", group="place", split="fold")
    assert b.class_names == ["land", "water"] and b.group_names == ["forest", "lake"]
    assert b.extra["feature_names"] == [f"f{j}" for j in range(6)] and b.n_features == 6
    vec = pd.DataFrame({"embedding": list(a["X"]), "y": a["y"], "g": a["g"]})
    c = load(path=parquet(tmp_path, vec, "vec.parquet"))
    assert c.n_features == 6 and c.extra["feature_names"][0] == "embedding[0]"
    np.testing.assert_array_equal(c.test.ids, load(path=npz(tmp_path, **a)).test.ids)
    one_group = load(path=parquet(tmp_path, vec.drop(columns="g"), "nog.parquet"), group="")
    assert one_group.group_names == ["all"]


def test_error_messages(tmp_path):
    a = arrays()
    assert error() == "features: `path` is required (an .npz or .parquet file of embeddings)"
    missing = tmp_path / "nope.npz"
    assert error(path=str(missing)) == f"features file not found: {missing}"
    assert error(path=str(tmp_path / "x.csv")) == \
        "features reads .npz or .parquet files, got 'x.csv'"
    p = npz(tmp_path, "nox.npz", y=a["y"], g=a["g"])
    assert error(path=p) == f"features file {p} has no array 'X' (the embeddings, samples x " \
                            "features); arrays: y, g"
    p = npz(tmp_path, "nolabel.npz", X=a["X"], g=a["g"])
    assert error(path=p) == f"features file {p} has no array 'y' (label); arrays: X, g"
    p = npz(tmp_path, "3d.npz", **{**a, "X": a["X"].reshape(120, 3, 2)})
    assert error(path=p) == "features X must be 2-D (samples x features), got shape " \
                            "(120, 3, 2); flatten or pool the embeddings first"
    p = npz(tmp_path, "short.npz", **{**a, "y": a["y"][:-1]})
    assert error(path=p) == "features arrays disagree in length: X has 120 rows, label 'y' " \
                            "has 119"
    p = npz(tmp_path, "text.npz", **{**a, "X": a["X"].astype(str)})
    assert error(path=p).startswith("features X must be numeric, got dtype <U")
    bad = a["X"].copy()
    bad[[3, 3, 7], [0, 1, 2]] = [np.nan, np.inf, 1e39]
    p = npz(tmp_path, "nan.npz", **{**a, "X": bad})
    assert error(path=p) == "features X has 3 non-finite or float32-overflowing values (NaN, " \
                            "inf or |x| > 3.4e38) in 2 row(s) (first: row 3); remove or " \
                            "impute those rows"
    p = npz(tmp_path, "split.npz", **a, split=np.array(["train", "dev", "test"] * 40))
    assert error(path=p) == "features split 'split' has values 'dev'; allowed: train, val, " \
                            "test (or 0, 1, 2)"
    p = npz(tmp_path, "split3.npz", **a, split=np.array([0, 2] * 60))
    assert error(path=p) == "features split 'split' has no 'val' rows; every split needs samples"
    p = npz(tmp_path, "emb.npz", **a)
    assert error(path=p, split="fold") == f"features file {p} has no array 'fold' (split); " \
                                          "arrays: X, y, g"
    p = npz(tmp_path, "float.npz", **{**a, "y": a["y"] + 0.5})
    assert error(path=p).startswith("features label 'y' has non-integer values (e.g. 0.5)")
    p = npz(tmp_path, "one.npz", **{**a, "y": np.zeros(120, int)})
    assert error(path=p) == "features label 'y' has one class ('0'); a classifier needs at " \
                            "least 2"
    p = npz(tmp_path, "obj.npz", **{**a, "X": np.array([[1.0], "a"] * 60, dtype=object)})
    assert error(path=p) == f"features file {p} holds Python objects (pickled arrays); save " \
                            "plain numeric or string arrays"
    df = pd.DataFrame({"f0": a["X"][:, 0], "name": ["a"] * 120, "y": a["y"], "g": a["g"]})
    p = parquet(tmp_path, df)
    assert error(path=p) == "features columns must be numeric; column 'name' has dtype object " \
                            "(e.g. 'a'); drop it, or name it as the label, group or split"
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    assert error(path=str(junk)).startswith(f"could not read {junk} as a .parquet file: ")
    with pytest.raises(wb.ConfigError, match="has no array 'y'"):  # before anything trains
        wb.RunConfig(dataset="features", dataset_params={
            "path": npz(tmp_path, "nolabel.npz", X=a["X"], g=a["g"])}).validate()


def test_store_key_follows_file_content(tmp_path):
    store = wb.RunStore(tmp_path / "store")
    path = npz(tmp_path, **arrays())
    cfg = wb.RunConfig(dataset="features", dataset_params={"path": path}, model="linear",
                       epochs=2, batch_size=32)
    first = store.train(cfg)
    assert first.status == "done" and store.train(cfg).key == first.key
    npz(tmp_path, **arrays(seed=1))  # same path, new content
    second = store.train(cfg)
    assert second.key != first.key and second.summary != first.summary


def test_trains_end_to_end_from_python_and_cli(tmp_path, capsys):
    cfg = wb.RunConfig(dataset="features", dataset_params=example_params(), model="linear",
                       epochs=3, batch_size=64)
    a, b = wb.train(cfg), wb.train(cfg)
    assert a.status == "done" and a.summary == b.summary  # reproducible
    assert a.info["group_names"] == ["y=0,a=0", "y=0,a=1", "y=1,a=0", "y=1,a=1"]
    argv = ["run", "--dataset", "features", "--dataset-param", f"path={example_params()['path']}",
            "--model", "linear", "--epochs", "3", "--batch-size", "64", "--json",
            "--store", str(tmp_path / "s")]
    assert main(argv) == 0
    assert '"status": "done"' in capsys.readouterr().out
    assert main(["compare", "--dataset", "features", "--dataset-param",
                 f"path={example_params()['path']}", "--model", "linear", "--epochs", "1",
                 "--schemes", "uniform,group_dro", "--seeds", "0", "--no-store"]) == 0
    capsys.readouterr()
    assert main(["run", "--dataset", "features", "--dataset-param",
                 f"path={tmp_path / 'gone.npz'}", "--no-store"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "features file not found" in err and "Traceback" not in err


def test_bundled_example_is_what_example_arrays_builds():
    with np.load(example_params()["path"]) as z:
        shipped = {k: z[k] for k in z.files}
    built = example_arrays()
    assert sorted(shipped) == sorted(built)
    for k in ("y", "g", "split", "class_names", "group_names"):
        np.testing.assert_array_equal(shipped[k], built[k])
    np.testing.assert_allclose(np.abs(shipped["X"]), np.abs(built["X"]), atol=1e-4)
    train = shipped["split"] == 0  # the spurious attribute agrees with y in 95% of train
    a = shipped["g"] % 2
    assert abs((a[train] == shipped["y"][train]).mean() - 0.95) < 0.01
