"""Tests of workbench.metrics against torchmetrics, sklearn and hand-computed values."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch
from netcal.metrics import ECE
from sklearn import metrics as skm
from torchmetrics.functional.classification import (
    binary_calibration_error,
    multiclass_calibration_error,
)

M = importlib.import_module("workbench.metrics")


def _random_probs(seed: int, n: int = 500, c: int = 4, n_bins: int = 15):
    """Softmax probs whose top confidence stays away from the k / n_bins bin edges."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(c, 0.7), size=n)
    conf = p.max(axis=1)
    dist = np.abs(conf * n_bins - np.round(conf * n_bins))
    p, y = p[dist > 1e-4], rng.integers(0, c, size=n)[dist > 1e-4]
    return p, y


# ---------------------------------------------------------------- calibration
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
@pytest.mark.parametrize("n_bins", [5, 15])
def test_multiclass_ece_matches_torchmetrics(seed, norm, n_bins):
    p, y = _random_probs(seed, n_bins=n_bins)
    # make the top class right more often than chance so accuracy and confidence both vary
    y = np.where(np.random.default_rng(seed + 9).random(len(y)) < 0.5, p.argmax(1), y)
    ours = M.expected_calibration_error(p, y, n_bins=n_bins, norm=norm)
    ref = multiclass_calibration_error(torch.tensor(p), torch.tensor(y), num_classes=p.shape[1],
                                       n_bins=n_bins, norm=norm)
    assert ours == pytest.approx(float(ref), abs=1e-5)  # torchmetrics works in float32


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
def test_binary_ece_matches_torchmetrics(seed, norm):
    rng = np.random.default_rng(seed)
    p = rng.random(400)
    p = p[np.abs(p * 10 - np.round(p * 10)) > 1e-4]
    y = (rng.random(len(p)) < p**1.5).astype(np.int64)
    ours = M.expected_calibration_error(torch.tensor(p), torch.tensor(y), n_bins=10, norm=norm)
    ref = binary_calibration_error(torch.tensor(p), torch.tensor(y), n_bins=10, norm=norm)
    assert ours == pytest.approx(float(ref), abs=1e-6)


def test_reference_doctest_values():
    p, y = [0.25, 0.25, 0.55, 0.75, 0.75], [0, 0, 1, 1, 1]
    assert M.expected_calibration_error(p, y, n_bins=2) == pytest.approx(0.29, abs=1e-4)
    assert M.expected_calibration_error(p, y, n_bins=2, norm="max") == pytest.approx(
        0.3167, abs=1e-4)
    assert M.maximum_calibration_error(p, y, n_bins=2) == pytest.approx(0.3167, abs=1e-4)
    assert M.expected_calibration_error(p, y, n_bins=2, norm="l2") == pytest.approx(
        0.2918, abs=1e-4)  # torchmetrics' doctest: its l2 is sqrt(sum_b w_b gap_b^2) too


def test_confidence_one_lands_in_last_bin():
    p = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.95, 0.05]])
    t = M.reliability_bins(p, [0, 1, 1, 0], n_bins=10)
    assert t["count"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0, 3]  # 0.5 is in (0.4, 0.5]
    assert t["confidence"].iloc[-1] == pytest.approx((1 + 1 + 0.95) / 3)
    assert np.isnan(t["gap"].iloc[0])  # empty bin: NaN statistics, no weight
    # binary positive-class: p = 0 goes to the first bin, p = 1 to the last
    t = M.reliability_bins([0.0, 1.0], [0, 1], n_bins=4)
    assert t["count"].tolist() == [1, 0, 0, 1]
    assert M.expected_calibration_error([0.0, 1.0], [0, 1], n_bins=4) == 0.0


def test_reliability_bins_reproduce_ece():
    p, y = _random_probs(5)
    t = M.reliability_bins(p, y)
    assert list(t.columns) == ["bin", "lo", "hi", "count", "confidence", "accuracy", "gap"]
    full = t[t["count"] > 0]
    ece = float(np.sum(full["count"] / len(y) * full["gap"].abs()))
    assert ece == pytest.approx(M.expected_calibration_error(p, y))


def test_quantile_bins_have_equal_counts():
    p, y = _random_probs(7, n=600)
    n = len(y)
    t = M.reliability_bins(p, y, n_bins=10, binning="quantile")
    assert t["count"].sum() == n and t["count"].max() - t["count"].min() <= 1
    assert (t["hi"].to_numpy()[:-1] <= t["lo"].to_numpy()[1:]).all()  # bins ordered
    t = M.reliability_bins(np.full(40, 0.7), np.arange(40) % 2, n_bins=4, binning="quantile")
    assert t["count"].tolist() == [0, 0, 0, 40]  # ties share one bin (netcal's rule)
    ace = M.expected_calibration_error(p, y, n_bins=10, binning="quantile")
    assert 0 <= ace <= 1


def _tied_and_untied(seed: int, n: int = 3000):
    """Binary positive-class and 4-class inputs, with confidences rounded to 0.01 (ties)."""
    rng = np.random.default_rng(seed)
    for tied in (True, False):
        c = rng.uniform(0.02, 0.98, n)
        c = np.round(c, 2) if tied else c
        yield tied, c, (rng.random(n) < c**1.3).astype(np.int64)
        p = rng.dirichlet(np.full(4, 0.5), size=n)
        if tied:
            p = np.round(p, 2)
        y = np.where(rng.random(n) < 0.7, p.argmax(1), rng.integers(0, 4, n))
        yield tied, p, y


@pytest.mark.parametrize("n_bins", [2, 7, 15])
def test_adaptive_ece_matches_netcal(n_bins):
    for tied, p, y in _tied_and_untied(3):
        # netcal clips confidences to [eps, 1 - eps]: keep away from 0 and 1 for an exact match
        ref = ECE(bins=n_bins, equal_intervals=False).measure(p, y)
        ours = M.expected_calibration_error(p, y, n_bins=n_bins, binning="quantile")
        assert ours == pytest.approx(ref, abs=1e-12), (tied, p.ndim)
    p = np.array([0.2, 0.6, 0.6, 0.6, 0.6, 0.9])  # ties across the 2-bin median
    y = np.array([0, 1, 1, 0, 0, 1])
    ref = ECE(bins=2, equal_intervals=False).measure(p, y)
    assert M.expected_calibration_error(p, y, n_bins=2, binning="quantile") == pytest.approx(ref)


def test_adaptive_ece_is_row_order_invariant():
    p = np.array([0.2, 0.6, 0.6, 0.6, 0.6, 0.9])
    y = np.array([0, 1, 1, 0, 0, 1])
    rng = np.random.default_rng(0)
    for _, probs, labels in _tied_and_untied(4):
        want = M.expected_calibration_error(probs, labels, n_bins=15, binning="quantile")
        for _ in range(20):
            perm = rng.permutation(len(labels))
            got = M.expected_calibration_error(probs[perm], labels[perm], n_bins=15,
                                               binning="quantile")
            assert got == pytest.approx(want, abs=1e-12)
    values = {round(M.expected_calibration_error(p[s], y[s], n_bins=2, binning="quantile"), 12)
              for s in (rng.permutation(6) for _ in range(20))}
    assert values == {round(1 / 12, 12)}  # bins {0.2}, {0.6 x4, 0.9}: 0.2/6 + 5|0.66-0.6|/6
    cw = {round(M.classwise_ece(probs[s], labels[s], n_bins=7, binning="quantile"), 12)
          for s in (rng.permutation(len(labels)) for _ in range(5))}
    assert len(cw) == 1


def test_classwise_ece_hand_value():
    p = np.array([[0.8, 0.2], [0.3, 0.7]])
    # class 0: p = .8 (y=1), .3 (y=0) -> gaps .2, .3 -> .25; class 1 mirrors it -> .25
    assert M.classwise_ece(p, [0, 1], n_bins=10) == pytest.approx(0.25)
    assert M.classwise_ece([0.2, 0.7], [0, 1], n_bins=10) == pytest.approx(0.25)


def test_brier_and_nll_against_hand_and_sklearn():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    y = np.array([0, 2, 0])
    hand = ((0.3**2 + 0.2**2 + 0.1**2) + (0.1**2 + 0.1**2 + 0.2**2)
            + (0.7**2 + 0.4**2 + 0.3**2)) / 3
    assert M.brier_score(p, y) == pytest.approx(hand)
    assert M.nll(p, y) == pytest.approx(-(np.log(0.7) + np.log(0.8) + np.log(0.3)) / 3)
    assert M.nll(p, y) == pytest.approx(skm.log_loss(y, p, labels=[0, 1, 2]))
    rng = np.random.default_rng(0)
    q, t = rng.random(200), rng.integers(0, 2, 200)
    assert M.brier_score(q, t) == pytest.approx(2 * skm.brier_score_loss(t, q))
    assert M.nll(q, t) == pytest.approx(skm.log_loss(t, q))
    assert M.nll([[1.0, 0.0]], [1]) == pytest.approx(-math.log(1e-12))  # clipped, finite


def _sample_labels(seed: int, t_true: float, n: int = 20000, c: int = 5):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(n, c))
    p = M.apply_temperature(logits, t_true)
    y = (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1)
    return logits, np.minimum(y, c - 1)


@pytest.mark.parametrize("t_true", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_truth(t_true):
    logits, y = _sample_labels(int(t_true * 10), t_true)
    t_hat = M.fit_temperature(torch.tensor(logits, dtype=torch.float32), y)
    assert t_hat == pytest.approx(t_true, rel=0.1)
    assert M.nll(M.apply_temperature(logits, t_hat), y) <= M.nll(
        M.apply_temperature(logits, 1.0), y) + 1e-9


def test_apply_temperature_identity_and_binary():
    z = np.array([[1.0, 2.0, -1.0], [0.0, 0.0, 3.0]])
    ref = torch.softmax(torch.tensor(z), dim=1).numpy()
    np.testing.assert_allclose(M.apply_temperature(z, 1.0), ref)
    np.testing.assert_allclose(M.apply_temperature([0.0, 2.0], 2.0), 1 / (1 + np.exp([0, -1])))
    # perfectly separated data wants T -> 0: the lower bound comes back, no crash
    assert M.fit_temperature([[5.0, -5.0], [-5.0, 5.0]], [0, 1]) == pytest.approx(0.01, rel=1e-3)


# ------------------------------------------------------------- classification
def test_classification_metrics_against_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 300)
    yp = np.where(rng.random(300) < 0.6, y, rng.integers(0, 5, 300))  # class 4 never true
    assert M.accuracy(y, yp) == pytest.approx(skm.accuracy_score(y, yp))
    with pytest.warns(UserWarning):  # sklearn warns about the predicted-only class
        ref = skm.balanced_accuracy_score(y, yp)
    assert M.balanced_accuracy(y, yp) == pytest.approx(ref)
    assert M.macro_f1(y, yp) == pytest.approx(skm.f1_score(y, yp, average="macro"))
    recalls = skm.recall_score(y, yp, labels=[0, 1, 2, 3], average=None)
    assert list(M.per_class_accuracy(y, yp).values()) == pytest.approx(list(recalls))
    assert M.worst_class_accuracy(y, yp) == pytest.approx(recalls.min())
    scores = np.eye(5)[yp] + 0.01  # 2-D scores are reduced with argmax
    assert M.accuracy(torch.tensor(y), torch.tensor(scores)) == M.accuracy(y, yp)


def test_group_accuracy_hand_values():
    y, yp, g = [0, 1, 1, 0, 1, 1], [0, 1, 0, 0, 0, 0], [0, 0, 0, 2, 2, 2]
    assert M.per_group_accuracy(y, yp, g) == pytest.approx({0: 2 / 3, 2: 1 / 3})
    assert M.worst_group_accuracy(y, yp, g) == pytest.approx(1 / 3)  # group 1 absent: ignored
    assert M.group_gap(y, yp, g) == pytest.approx(1 / 3)
    assert M.accuracy(y, yp) == pytest.approx(0.5)  # plain test mean, not group-weighted


def test_fairness_hand_values():
    y = [1, 1, 0, 0, 1, 1, 0, 0]
    yp = [1, 1, 1, 0, 1, 0, 0, 0]
    g = [0, 0, 0, 0, 1, 1, 1, 1]
    # selection rates: g0 3/4, g1 1/4 -> 0.5
    assert M.demographic_parity_difference(y, yp, g) == pytest.approx(0.5)
    # TPR: g0 1, g1 1/2 -> .5; FPR: g0 1/2, g1 0 -> .5
    assert M.equalized_odds_difference(y, yp, g) == pytest.approx(0.5)
    yp2 = [1, 1, 0, 0, 1, 1, 1, 0]  # TPR equal, FPR 0 vs 1/2
    assert M.equalized_odds_difference(y, yp2, g) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="binary"):
        M.demographic_parity_difference([0, 2], [0, 1], [0, 1])


# -------------------------------------------------------------------- weights
def test_weight_diagnostics():
    n = 8
    d = M.weight_diagnostics(torch.ones(n))
    assert set(d) == {"ess", "max_min_ratio", "entropy"}
    assert all(isinstance(v, torch.Tensor) and v.ndim == 0 for v in d.values())
    assert float(d["ess"]) == pytest.approx(1.0)
    assert float(d["entropy"]) == pytest.approx(math.log(n))
    assert float(d["max_min_ratio"]) == pytest.approx(1.0)
    w = torch.tensor([1.0] + [1e-9] * (n - 1))
    assert float(M.effective_sample_size(w)) == pytest.approx(1 / n, rel=1e-6)
    assert float(M.weight_entropy(w)) == pytest.approx(0.0, abs=1e-6)
    assert math.isinf(float(M.max_min_ratio(torch.tensor([0.0, 2.0]))))
    wn = np.random.default_rng(0).gamma(2.0, size=50)
    dn, dt = M.weight_diagnostics(wn), M.weight_diagnostics(torch.tensor(wn))
    for k in dn:
        assert float(dn[k]) == pytest.approx(float(dt[k]))
    assert float(dn["ess"]) == pytest.approx(wn.sum() ** 2 / (wn**2).sum() / 50)
    assert float(M.max_min_ratio(wn)) == pytest.approx(wn.max() / wn.min())
    w32 = M.effective_sample_size(torch.ones(4, dtype=torch.float32))
    assert w32.dtype == torch.float32  # stays in the caller's dtype (and device)


# --------------------------------------------------------------------- frames
def test_by_group_tiny_and_one_class_groups():
    p = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8],
                  [0.5, 0.3, 0.2]])
    y = np.array([0, 1, 0, 2, 2])
    g = np.array([0, 1, 1, 2, 2])  # group 0: one sample; group 2: one label (class 2)
    t = M.by_group(y, p, g, group_names=["a", "b", "c", "empty"])
    assert list(t.columns) == ["group", "metric", "value", "n"]
    assert set(t.metric) == {"accuracy", "nll", "ece", "brier"}
    assert set(t.group) == {"a", "b", "c", "empty", "all"}
    defined = t[t.group != "empty"]
    assert np.isfinite(defined.value).all()
    assert t[t.group == "empty"].value.isna().all() and (t[t.group == "empty"].n == 0).all()
    ece_a = t[(t.group == "a") & (t.metric == "ece")].value.item()
    assert ece_a == pytest.approx(0.1)  # one sample: |0.9 - 1|
    assert t[(t.group == "all") & (t.metric == "accuracy")].value.item() == pytest.approx(0.8)
    tb = M.by_group([1, 1, 0], [0.9, 0.6, 0.2], [0, 0, 1])  # binary probs, one-class groups
    assert np.isfinite(tb.value).all()
    tl = M.by_group(y, p.argmax(1), g)  # hard labels: accuracy only
    assert set(tl.metric) == {"accuracy"}


def test_summaries():
    p, y = _random_probs(11, n=300)
    g = np.random.default_rng(1).integers(0, 3, len(y))
    s = M.classification_summary(torch.tensor(p), torch.tensor(y), g)
    assert list(s) == ["accuracy", "balanced_accuracy", "macro_f1", "worst_group_accuracy",
                       "worst_class_accuracy", "group_gap", "ece", "mce", "brier", "nll"]
    assert all(type(v) is float for v in s.values())
    assert s["ece"] == pytest.approx(M.expected_calibration_error(p, y))
    assert s["worst_group_accuracy"] <= s["accuracy"] <= 1
    r = M.regression_summary(torch.tensor([0.0, 1.0, 2.0]), [0.0, 1.0, 4.0], [0, 0, 1])
    assert r == pytest.approx({"mse": 4 / 3, "worst_group_mse": 4.0})


# --------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("kwargs, match", [
    ({"norm": "l3"}, "norm must be one of"),
    ({"binning": "kmeans"}, "binning must be one of"),
    ({"n_bins": 0}, "n_bins must be an integer >= 1"),
    ({"n_bins": 2.5}, "n_bins must be an integer >= 1"),
])
def test_bad_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        M.expected_calibration_error([0.2, 0.8], [0, 1], **kwargs)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="empty"):
        M.expected_calibration_error(np.zeros((0, 3)), [])
    with pytest.raises(ValueError, match="rows"):
        M.brier_score([[0.5, 0.5]], [0, 1])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        M.nll([1.5, 0.2], [1, 0])
    with pytest.raises(ValueError, match="labels must lie"):
        M.expected_calibration_error([[0.5, 0.5]], [2])
    with pytest.raises(ValueError, match="lengths differ"):
        M.accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="temperature"):
        M.apply_temperature([[0.0, 1.0]], 0.0)
    with pytest.raises(ValueError, match="empty"):
        M.effective_sample_size(torch.tensor([]))
    with pytest.raises(ValueError, match="task must be one of"):
        M.by_group([0], [0.5], [0], task="ranking")
