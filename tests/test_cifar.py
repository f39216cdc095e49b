"""Long-tailed CIFAR: the file format, the profile, groups, errors, fetching, augmentation,
the image models, the learning-rate schedule and DRW, end to end on tiny fixtures.

Fixtures are written at test time in exactly the "python version" pickle format
(``cifar_fixture.pickles``); no real CIFAR file and no network are needed.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from cifar_fixture import FOLDER, folder, pickles

import workbench as wb
from workbench.cli import main
from workbench.context import TrainingContext
from workbench.data import cifar_files
from workbench.data.cifar import longtail_counts, shot_of
from workbench.data.images import crop_flip
from workbench.nets.images import speedups, to_float
from workbench.params import ConfigError
from workbench.schedule import lr_factor

ROOT = Path(__file__).resolve().parents[1]


def load(kind="cifar10", seed=0, **params):
    name = f"{kind}_lt"
    return wb.DATASETS.create(name, **params).load(seed=seed)


# ---- the files ---------------------------------------------------------------------------
def test_the_reader_reads_the_pickle_layout(tmp_path):
    """Rows are 1024 red, then green, then blue values, row-major (the CIFAR page)."""
    f = pickles(tmp_path, "cifar10", per_class=3, per_class_test=1)
    with open(f / "data_batch_2", "rb") as fh:
        raw = pickle.load(fh, encoding="bytes")
    X, y, Xt, yt = cifar_files.read_files(f, "cifar10")
    assert X.shape == (30, 3, 32, 32) and X.dtype == np.uint8 and len(Xt) == len(yt) == 10
    first = 6  # data_batch_1 holds rows 0..5
    row = raw[b"data"][0]
    assert y[first] == raw[b"labels"][0]
    assert X[first, 1, 0, 5] == row[1024 + 5] and X[first, 2, 3, 7] == row[2048 + 3 * 32 + 7]


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    f = pickles(tmp_path, "cifar10", per_class=2, per_class_test=1)
    with open(f / "test_batch", "wb") as fh:
        pickle.dump({b"data": subprocess.Popen, b"labels": []}, fh, protocol=2)
    with pytest.raises(ValueError, match="not a CIFAR 'python version' file.*not allowed"):
        cifar_files.read_files(f, "cifar10")


# ---- the long-tail profile, splits and groups ---------------------------------------------
def test_the_published_profiles():
    """Cao et al.'s counts: 12,406 CIFAR-10-LT and 10,847 CIFAR-100-LT images at ratio 100."""
    ten = longtail_counts(5000, 10, 100)
    assert ten.tolist() == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert ten.sum() == 12406 and longtail_counts(500, 100, 100).sum() == 10847
    assert longtail_counts(5000, 10, 1).tolist() == [5000] * 10
    assert shot_of(ten).tolist() == [0] * 8 + [1, 1]  # no few-shot class at ratio 100
    hundred = shot_of(longtail_counts(500, 100, 100))
    assert (hundred == 0).sum() == 35 and (hundred == 1).sum() == 35 and (hundred == 2).sum() == 30


def test_splits_profile_and_groups():
    b = load(root=folder("cifar10", 200, 5), ratio=100, val_per_class=10)
    counts = b.counts("train")["class"]
    want = np.minimum(longtail_counts(200, 10, 100), 190)  # class 0: 200 minus 10 for val
    assert counts.tolist() == want.tolist() == [190, 119, 71, 43, 25, 15, 9, 5, 3, 2]
    assert b.counts("val")["class"].tolist() == [10] * 10
    assert b.counts("test")["class"].tolist() == [5] * 10
    assert b.group_names == ["many-shot", "medium-shot", "few-shot"]
    assert b.extra["shots"] == {"many-shot": [0, 1], "medium-shot": [2, 3, 4],
                                "few-shot": [5, 6, 7, 8, 9]}
    for s in (b.train, b.val, b.test):  # group = the shot of the label's class
        assert np.array_equal(s.g, shot_of(counts)[s.y])
        assert s.X.dtype == np.uint8 and s.X.shape[1:] == (3, 32, 32)
    assert not set(b.train.ids) & set(b.val.ids)  # ids: rows of the training files
    other = load(root=folder("cifar10", 200, 5), ratio=100, val_per_class=10, seed=1)
    assert not np.array_equal(other.train.ids, b.train.ids)
    again = load(root=folder("cifar10", 200, 5), ratio=100, val_per_class=10)
    assert np.array_equal(again.train.ids, b.train.ids)
    assert np.array_equal(again.train.X, b.train.X)


def test_group_by_class_and_cifar100():
    b = load(root=folder("cifar10", 20, 4), val_per_class=2, group_by="class")
    assert b.group_names == b.class_names == ["airplane", "automobile", "bird", "cat", "deer",
                                              "dog", "frog", "horse", "ship", "truck"]
    assert np.array_equal(b.train.g, b.train.y)
    c = load("cifar100", root=folder("cifar100", 6, 2), val_per_class=1, ratio=5)
    assert c.n_classes == 100 and c.counts("test")["class"].tolist() == [2] * 100
    assert c.counts("train")["class"][[0, 99]].tolist() == [5, 1]


def test_missing_files_say_where_what_and_how(tmp_path):
    with pytest.raises(ConfigError) as err:
        load(root=str(tmp_path))
    text = str(err.value)
    assert err.value.field == "root" and str(tmp_path) in text
    assert "data_batch_1" in text and "test_batch" in text
    assert "python -m workbench data fetch cifar10" in text
    f = pickles(tmp_path / "part", "cifar10", per_class=2, per_class_test=1)
    (f / "data_batch_3").unlink()
    with pytest.raises(ConfigError, match=r"data_batch_3 missing in .*part"):
        load(root=str(f))
    cfg = wb.RunConfig(dataset="cifar100_lt", model="cnn", dataset_params={"root": str(tmp_path)})
    with pytest.raises(ConfigError, match="workbench data fetch cifar100") as err:
        cfg.validate()
    assert err.value.owner == "dataset"


def test_val_per_class_must_leave_training_images():
    with pytest.raises(ConfigError, match="val_per_class=20 leaves no training image"):
        load(root=folder("cifar10", 20, 4), val_per_class=20)


# ---- a smaller problem of the same shape: n_max and test_per_class --------------------------
def test_n_max_and_test_per_class_default_to_the_published_splits():
    """0 (the default) and any n_max the files reach are today's splits, bit for bit."""
    f = folder("cifar10", 200, 5)
    base = load(root=f, ratio=100, val_per_class=10)
    assert base.counts("train")["class"].tolist() == [190, 119, 71, 43, 25, 15, 9, 5, 3, 2]
    for same in ({"n_max": 0, "test_per_class": 0}, {"n_max": 200}, {"n_max": 5000}):
        b = load(root=f, ratio=100, val_per_class=10, **same)
        for a, c in ((base.train, b.train), (base.val, b.val), (base.test, b.test)):
            assert np.array_equal(a.X, c.X) and np.array_equal(a.y, c.y)
            assert np.array_equal(a.g, c.g) and np.array_equal(a.ids, c.ids)
        assert b.group_names == base.group_names


def test_a_smaller_n_max_keeps_the_profile_and_regroups_by_its_counts():
    f = folder("cifar10", 200, 5)
    full = load(root=f, ratio=100, val_per_class=10)
    b = load(root=f, ratio=100, val_per_class=10, n_max=150)
    counts = b.counts("train")["class"]
    assert counts.tolist() == longtail_counts(150, 10, 100).tolist() == \
        [150, 89, 53, 32, 19, 11, 6, 4, 2, 1]
    assert b.counts("val")["class"].tolist() == [10] * 10  # val and test: as before
    assert np.array_equal(b.val.ids, full.val.ids) and np.array_equal(b.test.X, full.test.X)
    assert set(b.train.ids) < set(full.train.ids)  # the first n_c of each class's draw
    assert b.extra["shots"] == {"many-shot": [0], "medium-shot": [1, 2, 3],
                                "few-shot": [4, 5, 6, 7, 8, 9]}
    for s in (b.train, b.val, b.test):  # the groups follow the smaller training counts
        assert np.array_equal(s.g, shot_of(counts)[s.y])
    c = load("cifar100", root=folder("cifar100", 6, 2), val_per_class=1, ratio=4, n_max=4)
    assert c.counts("train")["class"].tolist() == longtail_counts(4, 100, 4).tolist()


def test_test_per_class_is_a_balanced_seeded_subset_of_the_test_file():
    f = folder("cifar10", 20, 4)
    full = load(root=f, val_per_class=2)
    b = load(root=f, val_per_class=2, test_per_class=3)
    assert b.counts("test")["class"].tolist() == [3] * 10
    ids = b.test.ids  # rows of the test file, in file order
    assert len(set(ids)) == 30 and np.all(np.diff(ids) > 0)
    assert np.array_equal(b.test.X, full.test.X[ids]) and np.array_equal(b.test.y, full.test.y[ids])
    assert np.array_equal(b.test.g, full.test.g[ids])  # the groups of the training counts
    assert np.array_equal(b.train.ids, full.train.ids)  # training and val splits untouched
    assert np.array_equal(b.val.ids, full.val.ids)
    assert np.array_equal(load(root=f, val_per_class=2, test_per_class=3).test.ids, ids)
    picks = {tuple(load(root=f, val_per_class=2, test_per_class=3, seed=s).test.ids)
             for s in range(4)}
    assert len(picks) > 1  # the load seed draws them
    more = load(root=f, val_per_class=2, test_per_class=50)  # more than the file: all of it
    assert np.array_equal(more.test.X, full.test.X) and np.array_equal(more.test.y, full.test.y)


@pytest.mark.parametrize("name,field,value,allowed", [
    ("cifar10_lt", "n_max", -1, "an integer in 0..5000"),
    ("cifar10_lt", "n_max", 5001, "an integer in 0..5000"),
    ("cifar10_lt", "n_max", 2.5, "an integer in 0..5000"),
    ("cifar10_lt", "test_per_class", 1001, "an integer in 0..1000"),
    ("cifar100_lt", "n_max", 501, "an integer in 0..500"),
    ("cifar100_lt", "test_per_class", -3, "an integer in 0..100"),
    ("cifar100_lt", "test_per_class", True, "an integer in 0..100")])
def test_bad_sizes_are_refused_with_what_is_allowed(name, field, value, allowed):
    cfg = wb.RunConfig(dataset=name, model="cnn", dataset_params={field: value})
    with pytest.raises(ConfigError) as err:
        cfg.validate()
    assert str(err.value) == f"{name} {field} must be {allowed}, got {value!r}"
    assert err.value.owner == "dataset" and err.value.field == field


def test_the_declared_default_budget_builds_and_trains_the_comparison(monkeypatch):
    """The app's default comparison (``wbui.budget``) uses the miniature: >= 2 epochs (the
    Samples view's cartography needs two), the published profile's shape at n_max."""
    from wbui.budget import default_experiment

    # files just large enough for the budget (n_max + val_per_class, test_per_class + 2)
    for kind, per_class, test, want in (("cifar10", 420, 102, [400, 239, 143, 86, 51]),
                                        ("cifar100", 45, 12, [40, 38, 36, 34, 33])):
        name = f"{kind}_lt"
        monkeypatch.setenv("WORKBENCH_DATA_DIR", str(Path(folder(kind, per_class, test)).parent))
        budget = wb.DATASETS.get(name).default_budget
        exp = default_experiment(name)
        configs = exp.configs()
        assert len(configs) == 9 and {c.model for c in configs} == {"cnn"}
        assert {c.epochs for c in configs} == {budget["epochs"]} and budget["epochs"] >= 2
        for c in configs:
            c.validate()
            assert c.imbalance == [] and c.dataset_params == budget["dataset_params"]
        b = load(kind, **budget["dataset_params"])
        p = budget["dataset_params"]
        assert b.counts("train")["class"].tolist()[:5] == want
        assert b.counts("train")["class"].tolist() == longtail_counts(p["n_max"], b.n_classes,
                                                                      100).tolist()
        assert set(b.counts("val")["class"]) == {p["val_per_class"]}
        assert set(b.counts("test")["class"]) == {p["test_per_class"]}
    # it trains as the app trains it (seed 0's batch; on the tiny files: the sizes are upper
    # bounds, so the budget takes what they hold)
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(Path(folder("cifar10", 40, 4)).parent))
    configs = default_experiment("cifar10_lt").configs()
    runs = wb.train_many([c for c in configs if c.seed == 0])
    assert [r.status for r in runs] == ["done"] * 3
    assert runs[0].info["execution"] == "batched (3 replicas)"
    h = runs[0].history
    assert set(h[h.split == "test"]["epoch"]) == {1, 2}  # evaluated after each of two epochs


# ---- data fetch ----------------------------------------------------------------------------
def fetch_cli(capsys, monkeypatch, url, md5, root):
    monkeypatch.setitem(cifar_files.SOURCES, "cifar10",
                        cifar_files.SOURCES["cifar10"].__class__(
                            **{**cifar_files.SOURCES["cifar10"].__dict__, "url": url, "md5": md5}))
    code = main(["data", "fetch", "cifar10", "--root", str(root)])
    return code, capsys.readouterr().err


def test_fetch_offline_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    code, err = fetch_cli(capsys, monkeypatch, "http://127.0.0.1:9/cifar-10-python.tar.gz",
                          cifar_files.SOURCES["cifar10"].md5, tmp_path / "d")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: cannot download")
    assert "Traceback" not in err and list((tmp_path / "d").iterdir()) == []


def test_fetch_checks_the_checksum_and_extracts(capsys, monkeypatch, tmp_path):
    archive = tmp_path / "wrong.tar.gz"
    archive.write_bytes(cifar_files.archive_bytes(pickles(tmp_path / "src", "cifar10", 2, 1)))
    url = archive.as_uri()
    code, err = fetch_cli(capsys, monkeypatch, url, cifar_files.SOURCES["cifar10"].md5,
                          tmp_path / "d")
    assert code == 2 and err.count("\n") == 1 and "checksum mismatch" in err
    assert list((tmp_path / "d").iterdir()) == []  # nothing extracted, no partial file
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    code, err = fetch_cli(capsys, monkeypatch, url, md5, tmp_path / "d")
    assert code == 0 and "extracted" in err
    b = load(root=str(tmp_path / "d" / FOLDER["cifar10"]), val_per_class=1)
    assert len(b.test) == 10


def test_the_real_sources_are_the_published_archives():
    s = cifar_files.SOURCES
    assert s["cifar10"].url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert s["cifar10"].md5 == "c58f30108f718f92721af3b95e74349a"
    assert s["cifar100"].url == "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    assert s["cifar100"].md5 == "eb9058c3a382ffc7106e4002c42a8d85"


# ---- augmentation --------------------------------------------------------------------------
def reference_crop_flip(x, dy, dx, flip):
    """Per image, as torchvision does it: pad 4 with zeros, crop 32x32 at (dy, dx), flip."""
    out = []
    for k in range(len(x)):
        p = torch.nn.functional.pad(x[k], (4, 4, 4, 4))[:, dy[k]:dy[k] + 32, dx[k]:dx[k] + 32]
        out.append(p.flip(-1) if flip[k] else p)
    return torch.stack(out)


def test_crop_flip_matches_a_per_image_loop_and_is_seeded():
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    a = crop_flip(x, torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)  # the same draws, in the same order
    dy, dx = torch.randint(0, 9, (16,), generator=g), torch.randint(0, 9, (16,), generator=g)
    flip = torch.randint(0, 2, (16,), generator=g).bool()
    assert a.dtype == torch.uint8 and a.shape == x.shape
    assert torch.equal(a, reference_crop_flip(x, dy, dx, flip))
    assert torch.equal(a, crop_flip(x, torch.Generator().manual_seed(3)))
    assert not torch.equal(a, crop_flip(x, torch.Generator().manual_seed(4)))
    same = (torch.full((16,), 4), torch.full((16,), 4), torch.zeros(16, dtype=torch.bool))
    assert torch.equal(crop_flip(x, None, offsets=same), x)  # centre crop, no flip
    corner = crop_flip(x, None, offsets=(torch.zeros(16).long(), torch.zeros(16).long(),
                                         torch.ones(16).bool()))
    assert corner[:, :, :4].eq(0).all() and corner[:, :, :, -4:].eq(0).all()


def test_augmentation_touches_training_batches_only():
    params = {"root": folder("cifar10", 20, 4), "val_per_class": 2}
    cfg = wb.RunConfig(dataset="cifar10_lt", dataset_params=params, model="cnn", epochs=1,
                       batch_size=16, device="cpu")
    a, b = wb.train(cfg), wb.train(cfg)
    assert a.summary == b.summary  # seeded: reproducible on CPU
    plain = wb.train(cfg.replace(dataset_params={**params, "augment": False}))
    assert plain.summary != a.summary
    # evaluation sees the images as stored: the returned model predicts the test split again
    ctx = TrainingContext.build(cfg)
    out = ctx.outputs(a.model, "test")
    probs = torch.softmax(out.double(), 1).numpy()
    test = a.predictions[a.predictions.split == "test"]
    np.testing.assert_allclose(test["p0"].to_numpy(), probs[:, 0], rtol=1e-9, atol=1e-12)


# ---- models ----------------------------------------------------------------------------------
def test_resnet32_is_he_et_al_s_network():
    net = wb.MODELS.create("resnet32").build(3, 10)
    assert sum(p.numel() for p in net.parameters()) == 464_154  # "0.46M" in He et al. Table 6
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 31 and {c.out_channels for c in convs} == {16, 32, 64}  # + fc = 32
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    net.eval()
    assert net(x).shape == (4, 10)
    torch.testing.assert_close(net(x), net(to_float(x)))
    assert wb.MODELS.create("resnet32").build(3, 100)(x).shape == (4, 100)


def test_image_models_stack_or_say_why_not():
    from workbench.batched import why_not_batchable

    cfg = wb.RunConfig(dataset="cifar10_lt", model="resnet32")
    assert "BatchNorm" in why_not_batchable(cfg)
    assert why_not_batchable(cfg.replace(model="cnn")) is None
    params = {"root": folder("cifar10", 20, 4), "val_per_class": 2}
    cfgs = [wb.RunConfig(dataset="cifar10_lt", dataset_params=params, model="cnn", epochs=1,
                         batch_size=16, scheme=s) for s in ("uniform", "inverse_frequency")]
    together = wb.train_many(cfgs)
    assert together[1].info["execution"] == "batched (2 replicas)"
    alone = wb.train(cfgs[1])
    for k, v in alone.summary.items():
        assert together[1].summary[k] == pytest.approx(v, rel=1e-4, abs=1e-5), k


def test_speedups_decision():
    assert speedups("cuda", True) == {"channels_last": True, "autocast": "bfloat16"}
    assert speedups("cuda", False) == {"channels_last": True, "autocast": None}
    assert speedups("cuda", True, enabled=False) == {"channels_last": False, "autocast": None}
    assert speedups("cpu", True) == {"channels_last": False, "autocast": None}


def test_models_and_data_must_agree_on_inputs():
    with pytest.raises(ConfigError, match="use one of cnn, resnet32") as err:
        wb.RunConfig(dataset="cifar10_lt", model="mlp").validate()
    assert err.value.owner == "model"
    with pytest.raises(ConfigError, match="'cnn' takes image inputs"):
        wb.RunConfig(dataset="digits", model="cnn").validate()


# ---- learning-rate schedule and momentum ----------------------------------------------------
def ldam_lr(epoch0: int, base: float = 0.1) -> float:
    """Cao et al.'s ``adjust_learning_rate`` (epoch counted from 1 inside), after warm-up."""
    epoch = epoch0 + 1
    if epoch <= 5:
        return base * epoch / 5
    return base * (0.0001 if epoch > 180 else 0.01 if epoch > 160 else 1.0)


def test_step_schedule_follows_cao_et_al():
    cfg = wb.RunConfig(optimizer="sgd", lr=0.1, epochs=200, lr_schedule="step",
                       warmup_epochs=5, lr_milestones=[160, 180], lr_gamma=0.01)
    spe = 97
    for epoch in (5, 100, 159, 160, 179, 180, 199):  # after the warm-up, epoch by epoch
        for s in (epoch * spe, epoch * spe + spe - 1):
            assert cfg.lr * lr_factor(cfg, s, spe, 200 * spe) == pytest.approx(ldam_lr(epoch))
    # warm-up per step: linear, reaching lr at the end of epoch 5 (theirs: per epoch)
    warm = [lr_factor(cfg, s, spe, 200 * spe) for s in range(5 * spe)]
    assert warm[-1] == 1.0 and warm[0] == pytest.approx(1 / (5 * spe))
    assert np.all(np.diff(warm) > 0)


def test_cosine_schedule_matches_torch():
    cfg = wb.RunConfig(lr=0.5, epochs=10, lr_schedule="cosine")
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    for s in range(100):
        assert 0.5 * lr_factor(cfg, s, 10, 100) == pytest.approx(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()


def test_schedule_and_momentum_reach_the_optimiser():
    from workbench.context import make_optimizer

    base = wb.RunConfig(dataset="blobs2d", optimizer="sgd", lr=0.05, epochs=3, model="linear")
    opt = make_optimizer(base.replace(momentum=0.5), [torch.zeros(2, requires_grad=True)])
    assert opt.param_groups[0]["momentum"] == 0.5
    plain = wb.train(base)
    same = wb.train(base.replace(lr_schedule="step", lr_milestones=[1], lr_gamma=1.0))
    assert same.summary == plain.summary  # a factor of 1 changes nothing
    decayed = wb.train(base.replace(lr_schedule="step", lr_milestones=[1], lr_gamma=0.1))
    warmed = wb.train(base.replace(warmup_epochs=1))
    assert decayed.summary != plain.summary and warmed.summary != plain.summary
    assert wb.train(base.replace(momentum=0.0)).summary != plain.summary


@pytest.mark.parametrize("change,field", [({"warmup_epochs": 5}, "warmup_epochs"),
                                          ({"lr_schedule": "step"}, "lr_milestones"),
                                          ({"momentum": 1.0}, "momentum"),
                                          ({"lr_schedule": "linear"}, "lr_schedule")])
def test_bad_schedules_are_refused_with_their_field(change, field):
    with pytest.raises(ConfigError) as err:
        wb.RunConfig(epochs=3, **change).validate()
    assert err.value.field == field and err.value.owner == "run"


# ---- DRW ---------------------------------------------------------------------------------------
def test_drw_is_uniform_then_the_effective_number_table():
    from workbench.schemes import Batch, TrainInfo

    y = torch.tensor([0] * 50 + [1] * 5 + [2])
    info = TrainInfo(task="classification", y=y, g=torch.zeros(56).long(), n_classes=3, n_groups=1,
                     total_steps=40, steps_per_epoch=4)
    drw = wb.SCHEMES.create("drw", start_epoch=3)
    state = drw.init_state(info)
    table = wb.SCHEMES.create("effective_number", beta=0.9999).init_state(info)["table"]
    counts = torch.tensor([50.0, 5.0, 1.0])  # by hand: (1 - b) / (1 - b^n), mean 1 over 56
    raw = (1 - 0.9999) / (1 - 0.9999 ** counts.double())
    torch.testing.assert_close(table.double(), raw * 56 / (raw * counts).sum(), rtol=1e-5,
                               atol=0)
    for step, expect in ((11, torch.ones(56)), (12, table[y])):
        b = Batch(idx=torch.arange(56), y=y, g=torch.zeros(56).long(),
                  outputs=torch.zeros(56, 3), step=step, n_groups=1, n_classes=3)
        torch.testing.assert_close(drw.weights(torch.ones(56), b, state, info), expect)


def test_drw_trains_and_switches_at_its_epoch():
    params = {"root": folder("cifar10", 20, 4), "val_per_class": 2, "ratio": 10}
    cfg = wb.RunConfig(dataset="cifar10_lt", dataset_params=params, model="cnn", epochs=2,
                       batch_size=32, scheme="drw", scheme_params={"start_epoch": 1},
                       optimizer="sgd", lr=0.05)
    run = wb.train(cfg)
    assert run.status == "done"
    h = run.history[(run.history.metric == "weight") & (run.history.level == "class")]
    first = h[h.step < run.info["steps_per_epoch"]]
    assert np.allclose(first["value"], 1.0)
    later = h[h.step >= run.info["steps_per_epoch"]].groupby("group")["value"].mean()
    assert later["airplane"] < 1.0 < later["truck"]  # the head class, the rarest class


# ---- end to end ----------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["cnn", "resnet32"])
def test_trains_end_to_end_from_python(model):
    params = {"root": folder("cifar10", 20, 4), "val_per_class": 2}
    run = wb.train(wb.RunConfig(dataset="cifar10_lt", dataset_params=params, model=model,
                                epochs=1, batch_size=32, optimizer="sgd", lr=0.1,
                                momentum=0.9, weight_decay=2e-4, warmup_epochs=1))
    assert run.status == "done" and math.isfinite(run.summary["worst_group_accuracy"])
    assert run.info["speedups"] == {"channels_last": False, "autocast": None}
    assert run.info["group_names"] == ["few-shot"]  # 20 images a class: all below 20


def test_trains_from_the_cli(tmp_path):
    root = folder("cifar10", 20, 4)
    argv = ["run", "--dataset", "cifar10_lt", "--dataset-param", f"root={root}",
            "--dataset-param", "val_per_class=2", "--model", "cnn", "--epochs", "1",
            "--batch-size", "32", "--optimizer", "sgd", "--lr", "0.1", "--lr-schedule",
            "cosine", "--scheme", "drw", "--scheme-param", "start_epoch=0", "--json",
            "--store", str(tmp_path / "store")]
    p = subprocess.run([sys.executable, "-m", "workbench", *argv], cwd=ROOT, text=True,
                       capture_output=True, timeout=300,
                       env={"PATH": "", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout)
    assert out["status"] == "done" and out["config"]["lr_schedule"] == "cosine"
    assert "few_shot" not in out["summary"] and "worst_group_accuracy" in out["summary"]


def test_the_app_reports_missing_files_then_trains_on_a_fixture(app, monkeypatch, tmp_path):
    at = app  # the conftest fixture: fresh store, started
    monkeypatch.setenv("WORKBENCH_ALLOW_SERVER_PATHS", "0")
    at.selectbox(key="dataset").set_value("cifar10_lt").run()
    assert at.selectbox(key="model").value == "cnn"  # the first model that takes images
    at.number_input(key="batch_size").set_value(4096).run()  # more than a fixture has
    at.text_input(key="data_cifar10_lt_root").set_value(folder("cifar10", 20, 4)).run()
    errors = " ".join(e.value for e in at.error)  # a server folder: refused and never read
    assert "reading folders on the server is off" in errors and "training split" not in errors
    assert at.button(key="run").disabled
    at.number_input(key="batch_size").set_value(64).run()
    monkeypatch.setenv("WORKBENCH_ALLOW_SERVER_PATHS", "1")
    at.text_input(key="data_cifar10_lt_root").set_value(str(tmp_path / "none")).run()
    assert "workbench data fetch cifar10" in " ".join(e.value for e in at.error)
    at.selectbox(key="model").set_value("mlp").run()
    assert "use one of cnn, resnet32" in " ".join(e.value for e in at.error)
    at.selectbox(key="model").set_value("cnn").run()
    assert at.button(key="run").disabled and not at.exception
    at.text_input(key="data_cifar10_lt_root").set_value(folder("cifar10", 20, 4))
    at.number_input(key="data_cifar10_lt_val_per_class").set_value(2)
    assert not at.session_state["imbalance_ids"]  # CIFAR-LT is long-tailed already
    at.number_input(key="batch_size").set_value(16)
    at.number_input(key="seeds").set_value(1)
    at.multiselect(key="schemes").set_value(["uniform", "drw"])
    at.run()
    assert not at.button(key="run").disabled, [e.value for e in at.error]
    at.button(key="run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    for view in ("Overview", "Groups", "Data"):
        at.session_state["view"] = view
        at.run()
        assert not at.exception, (view, [e.value for e in at.exception])
