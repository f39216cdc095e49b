"""Fixed per-sample weights are fixed: computed once, mean 1 over the training set, never
rescaled per batch (SubpopBench ReWeight, Cui et al.'s code, AIF360's instance weights).

Rescaling each batch to mean 1 instead is a self-normalised estimator that drifts towards
ERM as the batch shrinks: at batch size 1 it *is* ERM. These tests fail on such code.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import workbench as wb
from workbench.callbacks import Callback
from workbench.schemes import Batch, TrainInfo

FIXED = [n for n in wb.SCHEMES.names() if wb.SCHEMES.get(n).normalisation == "fixed"]


def test_the_fixed_schemes_are_the_papers_fixed_schemes():
    assert set(FIXED) == {"inverse_frequency", "effective_number", "fairness_reweighing",
                          "jtt", "importance_weighting", "softdedup",
                          "drw"}  # fixed within each phase: 1, then the class table


class Steps(Callback):
    """Keeps every step's sample positions, losses, weights, objective and the state."""

    def __init__(self):
        self.records = []

    def on_step(self, rec):
        self.records.append(rec)


def small_config(scheme: str, **kw) -> wb.RunConfig:
    return wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 10}],
                        scheme=scheme, model="linear", epochs=3, batch_size=32, seed=0,
                        track=64, **kw)


@pytest.mark.parametrize("name", FIXED)
def test_a_tracked_sample_keeps_its_weight_at_every_step(name):
    run = wb.train(small_config(name))
    assert run.status == "done"
    per_sample = run.weights.groupby("sample_id")["weight"]
    assert run.weights["step"].nunique() > 3  # tracked samples seen at several steps
    np.testing.assert_allclose(per_sample.max().to_numpy(), per_sample.min().to_numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("name", FIXED)
def test_objective_is_the_mean_of_table_weights_times_losses(name):
    steps = Steps()
    run = wb.train(small_config(name), callbacks=[steps])
    assert run.status == "done" and steps.records
    # the same weight for a sample wherever it appears: one table over the training set
    table = {}
    for rec in steps.records:
        for i, w in zip(rec.idx.tolist(), rec.weights.tolist()):
            assert table.setdefault(i, w) == pytest.approx(w, rel=1e-6)
        expected = (rec.weights * rec.losses).mean()
        assert rec.objective.item() == pytest.approx(expected.item(), rel=1e-5)
    assert len(table) > 100  # many samples, each with one weight
    # batch means vary around 1 (they would all be exactly 1 if rescaled per batch)
    means = np.array([rec.weights.mean().item() for rec in steps.records])
    if name in ("inverse_frequency", "effective_number"):
        assert means.std() > 1e-3


def long_tail_info(n_major=990, n_minor=10) -> TrainInfo:
    y = torch.tensor([0] * n_major + [1] * n_minor)
    return TrainInfo(task="classification", y=y, g=torch.zeros_like(y), n_classes=2, n_groups=1,
                     total_steps=1)


@pytest.mark.parametrize("batch_size", [1, 8, 64])
def test_rare_class_carries_half_the_weight_over_an_epoch(batch_size):
    """990:10 split, inverse_frequency: the rare class's share of the summed weight over one
    epoch is 0.5 at every batch size (a per-batch rescaling gives 0.01 at batch size 1 and
    about 0.32 at 64)."""
    info = long_tail_info()
    scheme = wb.SCHEMES.create("inverse_frequency")
    state = scheme.init_state(info)
    order = torch.randperm(info.n, generator=torch.Generator().manual_seed(0))
    rare = total = 0.0
    for start in range(0, info.n, batch_size):
        idx = order[start:start + batch_size]
        batch = Batch(idx=idx, y=info.y[idx], g=info.g[idx], outputs=torch.zeros(len(idx), 2),
                      step=0, n_groups=1, n_classes=2)
        w = scheme.weights(torch.ones(len(idx)), batch, state, info)
        rare += float(w[batch.y == 1].sum())
        total += float(w.sum())
    assert rare / total == pytest.approx(0.5, abs=0.02)


def test_batch_size_one_inverse_frequency_is_not_erm():
    """With per-batch rescaling every weight is 1 at batch size 1: inverse_frequency gave
    exactly uniform's numbers (balanced accuracy 0.513793 for both). Now they differ."""
    base = dict(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 50}],
                model="linear", epochs=1, batch_size=1, seed=0, eval_every=1)
    uniform = wb.train(wb.RunConfig(scheme="uniform", **base))
    inverse = wb.train(wb.RunConfig(scheme="inverse_frequency", **base))
    assert uniform.summary["balanced_accuracy"] != inverse.summary["balanced_accuracy"]
    w = inverse.weights["weight"]
    assert w.max() / w.min() > 10  # rare classes carry their large fixed weight
