"""Data sets and imbalance transforms: shapes, determinism, groups, profiles, errors."""

from __future__ import annotations

from functools import cache

import cifar_fixture
import numpy as np
import pytest

import workbench as wb
from workbench.data import CLASSIFICATION, REGRESSION, load_prepared
from workbench.data.base import split_three

SPLITS = ("train", "val", "test")


def example(name: str) -> dict:
    """Params a data set needs to load at all (csv: the bundled example file; CIFAR-LT: a
    tiny fixture in the files' format, ``cifar_fixture``)."""
    if name in ("cifar10_lt", "cifar100_lt"):
        return cifar_fixture.params(name[:-3])
    return getattr(wb.DATASETS.get(name), "example_params", dict)()


@cache
def load(name: str, seed: int = 0, **params):
    """Bundles are shared between tests: each test must leave them unchanged."""
    return wb.DATASETS.create(name, **(params or example(name))).load(seed=seed)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---- data sets ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", wb.DATASETS.names())
def test_dataset_shapes_and_dtypes(name):
    b = load(name)
    assert b.task == wb.DATASETS.get(name).task in (CLASSIFICATION, REGRESSION, "lm")
    assert b.name == name and b.notes
    for split in SPLITS:
        s = getattr(b, split)
        assert len(s) > 0 and s.X.shape[:2] == (len(s), b.n_features)
        if getattr(wb.DATASETS.get(name), "inputs", "") == "image":  # (n, C, H, W) uint8
            assert s.X.ndim == 4 and s.X.dtype == np.uint8
        else:
            assert s.X.ndim == 2
        if b.task == "lm":  # token ids in, next tokens out (tests/test_text_lm.py has more)
            assert s.X.dtype == s.y.dtype == np.int64 and s.y.shape == s.X.shape
            assert s.X.min() >= 0 and s.X.max() < b.extra["vocab_size"]
            assert s.g.min() >= 0 and s.g.max() < b.n_groups
            continue
        assert s.X.dtype in (np.float32, np.uint8) and np.isfinite(s.X).all()
        assert s.g.dtype == np.int64 and s.ids.dtype == np.int64 and s.noisy.dtype == bool
        assert s.g.min() >= 0 and s.g.max() < b.n_groups
        if b.task == CLASSIFICATION:
            assert s.y.dtype == np.int64 and s.y.min() >= 0 and s.y.max() < b.n_classes
        else:
            assert s.y.dtype == np.float32 and b.class_names == []


@pytest.mark.parametrize("name", wb.DATASETS.names())
def test_dataset_deterministic_given_seed(name):
    a = load(name, 0)
    b = wb.DATASETS.create(name, **example(name)).load(seed=0)
    c = load(name, 1)
    for split in SPLITS:
        for field in ("X", "y", "g", "ids", "noisy"):
            np.testing.assert_array_equal(getattr(getattr(a, split), field),
                                          getattr(getattr(b, split), field))
    if a.extra.get("split_from") == "file":  # features: a split the file gives is fixed
        np.testing.assert_array_equal(a.val.ids, c.val.ids)
        return
    assert len(a.val) != len(c.val) or not np.array_equal(a.val.X, c.val.X)


@pytest.mark.parametrize("name", wb.DATASETS.names())
def test_every_group_and_class_present_in_test(name):
    b = load(name)
    if name == "noisy_regression":  # corruption is a training-only group by design
        assert (b.test.g == 0).all() and not b.test.noisy.any() and b.train.noisy.any()
        assert np.array_equal(b.train.noisy, b.train.g == 1)
        return
    assert (b.counts("test")["group"] > 0).all()
    if b.task == CLASSIFICATION:
        assert (b.counts("test")["class"] > 0).all()


def test_split_three_is_a_disjoint_cover():
    y = np.repeat(np.arange(4), 50)
    tr, va, te = split_three(len(y), val=0.15, test=0.3, seed=3, stratify=y)
    together = np.concatenate([tr, va, te])
    assert len(together) == len(y) and set(together) == set(range(len(y)))


@pytest.mark.parametrize("name", ["blobs2d", "noisy_regression"])
def test_continuous_splits_share_no_sample(name):
    b = load(name)
    rows = {split: {r.tobytes() for r in getattr(b, split).X} for split in SPLITS}
    assert not rows["train"] & rows["test"] and not rows["train"] & rows["val"]
    assert not rows["val"] & rows["test"]


def test_blobs2d_balanced_test_and_minority_share():
    b = load("blobs2d", 0, n_classes=4, n_per_class=100)
    assert b.counts("test")["class"].tolist() == [20] * 4
    assert b.group_names == ["majority", "minority"]
    assert abs(b.train.g.mean() - 0.2) < 0.02


def test_noisy_regression_corrupts_training_targets_only():
    b = load("noisy_regression", 0, corrupt=0.25)
    assert b.train.noisy.sum() == round(0.25 * len(b.train))
    assert b.group_names == ["clean", "corrupted"]
    w = b.extra["w_star"]
    clean_err = np.abs(b.train.X[~b.train.noisy] @ w - b.train.y[~b.train.noisy])
    bad_err = np.abs(b.train.X[b.train.noisy] @ w - b.train.y[b.train.noisy])
    assert np.median(bad_err) > 10 * np.median(clean_err)
    assert np.abs(b.test.X @ w - b.test.y).max() < 1.0


@pytest.mark.parametrize("group_by,names", [("parity", ["even", "odd"]),
                                            ("class", [str(c) for c in range(10)]),
                                            ("ink", ["low ink", "high ink"])])
def test_digits_group_by(group_by, names):
    b = load("digits", 0, group_by=group_by)
    assert b.group_names == names and len(b.test) == 540
    assert 0 <= b.train.X.min() and b.train.X.max() <= 1


@pytest.mark.parametrize("group_by,n_groups,first", [("sex", 2, "Male"), ("race", 5, "White"),
                                                     ("sex_race", 10, "Male/White")])
def test_adult_group_by(group_by, n_groups, first):
    b = load("adult", 0, group_by=group_by)
    assert b.n_groups == n_groups and b.group_names[0] == first
    assert 25_000 < len(b.train) < 30_162 and len(b.train) + len(b.val) == 30_162
    assert len(b.test) == 15_060 and b.class_names == ["<=50K", ">50K"]
    assert 0.2 < b.test.y.mean() < 0.3  # natural profile, about 25% >50K
    if group_by == "sex_race":
        assert "Female/Black" in b.group_names


def test_adult_missing_folder_says_where(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="WORKBENCH_DATA_DIR"):
        wb.DATASETS.create("adult").load(seed=0)


# ---- transforms --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", wb.TRANSFORMS.names())
def test_transform_returns_new_split_keeping_identity(kind):
    b = load("digits")
    before = b.train.y.copy()
    out = wb.TRANSFORMS.create(kind).apply(b.train, b, rng())
    assert out is not b.train and np.array_equal(b.train.y, before)
    assert out.X.dtype == np.float32 and out.y.dtype == np.int64 and out.g.dtype == np.int64
    copies = getattr(wb.TRANSFORMS.get(kind), "adds_copies", False)  # duplicates repeats ids
    assert (len(np.unique(out.ids)) == len(out)) != copies and set(out.ids) <= set(b.train.ids)
    np.testing.assert_array_equal(out.X, b.train.X[out.ids])  # digits ids are positions
    again = wb.TRANSFORMS.create(kind).apply(b.train, b, rng())
    np.testing.assert_array_equal(out.ids, again.ids)
    np.testing.assert_array_equal(out.y, again.y)


@pytest.mark.parametrize("kind", wb.TRANSFORMS.names())
def test_transform_on_regression(kind):
    b = load("noisy_regression")
    t = wb.TRANSFORMS.create(kind)
    if REGRESSION in t.tasks:
        n = len(t.apply(b.train, b, rng()))
        assert n > len(b.train) if getattr(t, "adds_copies", False) else n < len(b.train)
    else:
        with pytest.raises(ValueError, match="needs a classification data set"):
            t.apply(b.train, b, rng())


def test_longtail_ratio_50_on_digits():
    b = load("digits")
    counts = np.bincount(wb.TRANSFORMS.create("longtail", ratio=50).apply(
        b.train, b, rng()).y, minlength=10)
    assert counts.argmax() == 0 and (np.diff(counts) <= 0).all()
    assert counts[0] == b.counts()["class"].min()
    assert counts[-1] - 0.5 <= counts[0] / 50 <= counts[-1] + 0.5  # within rounding


def test_step_profile():
    b = load("digits")
    counts = np.bincount(wb.TRANSFORMS.create("step", ratio=10, mu=0.3).apply(
        b.train, b, rng()).y, minlength=10)
    n_max = b.counts()["class"].min()
    assert counts[:7].tolist() == [n_max] * 7
    assert counts[7:].tolist() == [round(n_max / 10)] * 3


def test_group_minority_fraction():
    b = load("digits")  # parity groups
    out = wb.TRANSFORMS.create("group_minority", group=1, fraction=0.25).apply(b.train, b, rng())
    n_odd = (b.train.g == 1).sum()
    assert (out.g == 1).sum() == round(0.25 * n_odd)
    assert (out.g == 0).sum() == (b.train.g == 0).sum()


@pytest.mark.parametrize("mode", ["symmetric", "flip"])
def test_label_noise_changes_exactly_rate_n(mode):
    b = load("digits")
    out = wb.TRANSFORMS.create("label_noise", rate=0.3, mode=mode).apply(b.train, b, rng())
    changed = out.y != b.train.y
    assert changed.sum() == round(0.3 * len(b.train))
    np.testing.assert_array_equal(changed, out.noisy)
    if mode == "flip":
        np.testing.assert_array_equal(out.y[changed], (b.train.y[changed] + 1) % 10)


# ---- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("registry,name,params,allowed", [
    ("TRANSFORMS", "longtail", {"ratio": -2}, ">= 1"),
    ("TRANSFORMS", "step", {"mu": 1.0}, r"\(0, 1\)"),
    ("TRANSFORMS", "label_noise", {"rate": 1.5}, r"\[0, 1\)"),
    ("TRANSFORMS", "label_noise", {"mode": "pair"}, "symmetric, flip"),
    ("TRANSFORMS", "group_minority", {"fraction": 0}, r"\(0, 1\]"),
    ("DATASETS", "digits", {"group_by": "colour"}, "class, parity, ink"),
    ("DATASETS", "adult", {"group_by": "age"}, "sex, race, sex_race"),
    ("DATASETS", "blobs2d", {"n_classes": 9}, "2..8"),
    ("DATASETS", "noisy_regression", {"corrupt": 1.0}, r"\[0, 1\)"),
])
def test_bad_params_name_allowed_values(registry, name, params, allowed):
    with pytest.raises(ValueError, match=allowed):
        getattr(wb, registry).create(name, **params)


def test_unknown_group_id_lists_valid_ids():
    b = load("digits")
    with pytest.raises(ValueError, match=r"valid group ids: 0 \(even\), 1 \(odd\)"):
        wb.TRANSFORMS.create("group_minority", group=2).apply(b.train, b, rng())


# ---- load_prepared -----------------------------------------------------------------------
def test_load_prepared_touches_train_only():
    orig, prep = load_prepared("digits", {"group_by": "class"},
                               [{"kind": "longtail", "ratio": 10},
                                {"kind": "label_noise", "rate": 0.1}], data_seed=0)
    assert len(prep.train) < len(orig.train) and prep.train.noisy.any()
    for split in ("val", "test"):
        for field in ("X", "y", "g", "ids", "noisy"):
            np.testing.assert_array_equal(getattr(getattr(prep, split), field),
                                          getattr(getattr(orig, split), field))
