"""The training engine end to end: records, reproducibility, divergence, callbacks."""

import math

import numpy as np
import pytest
import torch
from test_data import example

import workbench as wb
from workbench import cli
from workbench.batched import compatibility_key
from workbench.run import HISTORY_COLUMNS, WEIGHT_COLUMNS

CLASSIFICATION_KEYS = {"accuracy", "balanced_accuracy", "macro_f1", "worst_group_accuracy",
                       "worst_class_accuracy", "group_gap", "ece", "mce", "brier", "nll"}
FAST = dict(dataset="blobs2d", dataset_params={"n_per_class": 100}, epochs=3, batch_size=32)


@pytest.fixture(scope="module")
def digits_run():
    cfg = wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 20}],
                       scheme="linupper", epochs=4, track=64)
    return wb.train(cfg)


def test_run_records_what_the_app_shows(digits_run):
    run = digits_run
    assert run.status == "done" and set(run.summary) == CLASSIFICATION_KEYS
    assert all(math.isfinite(v) for v in run.summary.values())
    h = run.history
    assert list(h.columns) == HISTORY_COLUMNS
    assert set(h["split"]) == {"train_batch", "train", "val", "test"}
    batch = h[h["split"] == "train_batch"]
    steps = run.info["steps"]
    for metric in ("ess", "max_min_ratio", "entropy", "objective", "loss"):
        assert (batch[(batch.metric == metric) & (batch.group == "all")]["step"]
                .tolist() == list(range(steps)))
    # per-group and per-class mean weight and loss at every step
    weight = batch[batch.metric == "weight"]
    assert {("group", "even"), ("group", "odd"), ("class", "0"), ("class", "9")} <= set(
        zip(weight.level, weight.group))
    assert set(h["level"]) == {"all", "group", "class"}  # told apart by level, not by name
    shares = batch[(batch.metric == "share") & batch.group.isin(["even", "odd"])]
    assert np.allclose(shares.groupby("step")["value"].sum(), 1.0)
    # linupper is dynamic: ESS below 1 once the burn-in (0 here) is over
    ess = batch[(batch.metric == "ess")]["value"]
    assert ess.max() <= 1.0 + 1e-6 and ess.min() < 0.999
    # evaluation at every epoch, for every split, overall and per group
    test_acc = run.curve("accuracy", "test")
    assert len(test_acc) == 4 and test_acc["value"].between(0, 1).all()
    assert math.isclose(test_acc["value"].iloc[-1], run.summary["accuracy"], abs_tol=1e-6)


def test_tracked_weights_are_bounded_and_stratified(digits_run):
    w = digits_run.weights
    assert list(w.columns) == WEIGHT_COLUMNS
    assert w["sample_id"].nunique() <= 64
    # each tracked sample appears once per epoch (a permutation per epoch): no N x steps growth
    assert len(w) == w["sample_id"].nunique() * 4
    assert set(w["group"]) == {"even", "odd"}
    assert (w["weight"] >= 0).all() and np.isfinite(w["loss"]).all()
    # batch mean 1 means tracked weights average to about 1 too
    assert 0.5 < w["weight"].mean() < 1.5


def test_same_seed_same_numbers_different_seed_differs():
    cfg = wb.RunConfig(scheme="group_dro", **FAST)
    a, b = wb.train(cfg), wb.train(cfg)
    assert a.summary == b.summary
    assert a.history["value"].equals(b.history["value"])
    assert a.weights.equals(b.weights)
    c = wb.train(cfg.replace(seed=1))
    assert c.summary != a.summary


@pytest.mark.parametrize("scheme", wb.SCHEMES.names())
def test_every_scheme_trains_end_to_end(scheme):
    cls = wb.SCHEMES.get(scheme)
    dataset = "blobs2d" if "classification" in cls.tasks else "noisy_regression"
    cfg = wb.RunConfig(dataset=dataset, scheme=scheme, epochs=2, batch_size=32,
                       dataset_params={"n_per_class": 60} if dataset == "blobs2d" else {})
    run = wb.train(cfg)
    assert run.status == "done", run.message
    assert all(math.isfinite(v) for v in run.summary.values())
    assert len(run.weights) > 0


@pytest.mark.parametrize("dataset", wb.DATASETS.names())
def test_every_dataset_trains_end_to_end(dataset):
    lm = wb.DATASETS.get(dataset).task == "lm"
    params = example(dataset)
    image = getattr(wb.DATASETS.get(dataset), "inputs", "") == "image"
    model = "transformer" if lm else "cnn" if image else "linear"
    run = wb.train(wb.RunConfig(dataset=dataset, epochs=1, batch_size=16 if image else 256,
                                dataset_params=params, model=model))
    assert run.status == "done"
    if run.info["task"] == "regression":
        assert set(run.summary) == {"mse", "worst_group_mse"}
        assert run.summary["mse"] > 0
    elif lm:
        assert {"perplexity", "worst_group_perplexity", "loss"} <= set(run.summary)
    else:
        assert set(run.summary) == CLASSIFICATION_KEYS


def test_sampling_scheme_changes_batch_composition():
    cfg = wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 20}],
                       epochs=3, dataset_params={"group_by": "class"})
    natural = wb.train(cfg).history
    balanced = wb.train(cfg.replace(scheme="temperature_sampling",
                                    scheme_params={"tau": 1000.0})).history

    def share_of_rarest(h):
        s = h[(h.split == "train_batch") & (h.metric == "share") & (h.group == "9")]
        return s["value"].mean()

    assert share_of_rarest(natural) < 0.05
    assert 0.06 < share_of_rarest(balanced) < 0.15  # about 1/10 under class-uniform draws


def test_divergence_is_reported_not_raised():
    cfg = wb.RunConfig(dataset="noisy_regression", optimizer="sgd", lr=10.0, epochs=5,
                       model="linear")
    run = wb.train(cfg)
    assert run.status == "diverged"
    assert isinstance(run.diverged_step, int) and run.diverged_step >= 0
    assert "diverged" in run.message and str(run.diverged_step) in run.message
    assert run.summary == {}


@pytest.mark.parametrize("scheme", ["linupper", "kl_dro", "group_dro"])
def test_diverging_losses_are_divergence_even_when_weights_follow_them(scheme):
    """Weights computed from inf/NaN losses are not finite either: still divergence."""
    cfg = wb.RunConfig(dataset="noisy_regression", optimizer="sgd", lr=10.0, epochs=5,
                       model="linear", scheme=scheme)
    run = wb.train(cfg)
    assert run.status == "diverged" and "training diverged" in run.message


def nan_weights_from(step):
    def weights(self, losses, batch, state, info):
        w = torch.ones_like(losses)
        return w * float("nan") if batch.step >= step else w
    return weights


@pytest.mark.parametrize("path", ["engine", "batched", "store", "cli"])
def test_non_finite_weights_are_a_scheme_error_not_divergence(monkeypatch, tmp_path, capsys,
                                                              path):
    monkeypatch.setattr(wb.SCHEMES.get("linupper"), "weights", nan_weights_from(3))
    cfg = wb.RunConfig(scheme="linupper", **FAST)
    message = "scheme 'linupper' produced non-finite weights at step 3 from finite losses"
    if path == "cli":
        argv = ["run", "--dataset", "blobs2d", "--scheme", "linupper", "--epochs", "1",
                "--no-store"]
        assert cli.main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and err.count("\n") == 1
        return
    with pytest.raises(wb.SchemeError, match=message):
        if path == "engine":
            wb.train(cfg)
        elif path == "batched":
            runs = [cfg.replace(scheme="uniform"), cfg]
            assert len({compatibility_key(c) for c in runs}) == 1  # trained as replicas
            wb.train_many(runs)
        else:
            wb.RunStore(tmp_path).train(cfg)
    if path == "store":  # the row says why, not 'running' or 'diverged'
        row = wb.RunStore(tmp_path).list().iloc[0]
        assert row["status"] == "failed" and message in row["message"]


def test_batch_larger_than_data_is_a_clear_error():
    with pytest.raises(ValueError, match="batch_size 5000 is larger than the training split"):
        wb.train(wb.RunConfig(dataset="digits", batch_size=5000, epochs=1))


def test_progress_callback_and_cancel():
    calls = []
    cb = wb.FunctionProgress(lambda done, total: calls.append((done, total)), every=5,
                             should_stop=lambda: len(calls) >= 2)
    run = wb.train(wb.RunConfig(**FAST), callbacks=[cb])
    assert run.status == "cancelled"
    assert calls[0] == (5, calls[0][1]) and len(calls) == 2
    assert run.info["steps"] == 10


def test_model_selection_rule_is_recorded():
    cfg = wb.RunConfig(selection="best_val_worst_group_accuracy", **FAST)
    run = wb.train(cfg)
    assert 1 <= run.info["selected_epoch"] <= 3
    val = run.history[(run.history.split == "val") & (run.history.metric == "accuracy")]
    worst = val[val.level == "group"].groupby("epoch")["value"].min()
    assert worst.idxmax() == run.info["selected_epoch"]


def test_predictions_hold_val_and_test_probabilities(digits_run):
    p = digits_run.predictions
    assert set(p["split"]) == {"val", "test"}
    probs = p[[f"p{c}" for c in range(10)]].to_numpy()
    assert np.allclose(probs.sum(1), 1.0)
    test = p[p.split == "test"]
    assert math.isclose((test["pred"] == test["label"]).mean(), digits_run.summary["accuracy"])


def test_group_dro_q_trajectory_is_recorded():
    run = wb.train(wb.RunConfig(scheme="group_dro", scheme_params={"eta": 0.5}, **FAST))
    q = run.history[run.history.metric == "q"]
    assert set(q.group) == {"majority", "minority"}
    per_step = q.groupby("step")["value"].sum()
    assert len(per_step) == run.info["steps"] and np.allclose(per_step, 1.0, atol=1e-5)


def test_multi_stage_scheme_records_every_stage(monkeypatch):
    """A scheme with prepare() trains an earlier stage through ctx.fit; run.stages has it."""
    from workbench.schemes.static import Uniform

    def prepare(self, ctx, state):
        first = ctx.fit("uniform", epochs=1, stage="stage1")
        losses = wb.schemes.per_sample_loss(ctx.outputs(first.model), ctx.splits["train"].y,
                                            "classification")
        return {**state, "stage1_loss": losses}

    monkeypatch.setattr(Uniform, "prepare", prepare, raising=False)
    run = wb.train(wb.RunConfig(**FAST))
    assert run.info["stages"] == ["stage1", "main"]
    assert set(run.stages["stage"]) == {"stage1"}
    assert {"train_batch", "test"} <= set(run.stages["split"])
    assert run.status == "done"
