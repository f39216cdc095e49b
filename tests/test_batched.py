"""Batched replicas give the numbers of runs trained alone, and fall back when they must.

Tolerance: summaries within 1e-5 and every history value within 1e-4 (absolute). The
batched forward uses batched matmuls, whose float rounding differs from single matmuls;
nothing else differs (same initialisation, data order, scheme state per replica).
History values are compared with rtol 1e-4 too (max/min weight ratios reach 1e14).
"""

import numpy as np
import pytest

import workbench as wb
from workbench.batched import compatibility_key
from workbench.engine import train_many, train_replicas

BASE = wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 20}], epochs=2,
                    track=32)


def assert_same_run(a, b):
    assert a.status == b.status and a.summary.keys() == b.summary.keys()
    for k in a.summary:
        assert abs(a.summary[k] - b.summary[k]) < 1e-5, k
    assert len(a.history) == len(b.history)
    assert np.allclose(a.history["value"].to_numpy(float), b.history["value"].to_numpy(float),
                       rtol=1e-4, atol=1e-4, equal_nan=True)
    assert a.weights[["step", "sample_id"]].equals(b.weights[["step", "sample_id"]])
    assert np.allclose(a.weights["weight"], b.weights["weight"], atol=1e-4)


@pytest.mark.parametrize("schemes", [
    ["uniform", "linupper", "group_dro"],
    ["focal", "temperature_sampling", "inverse_frequency"],
])
def test_replica_in_a_batch_equals_the_run_alone(schemes):
    cfgs = [BASE.replace(scheme=s, seed=i) for i, s in enumerate(schemes)]
    batched = train_replicas(cfgs)
    for cfg, run in zip(cfgs, batched):
        assert_same_run(run, wb.train(cfg))
        assert run.info["execution"] == f"batched ({len(cfgs)} replicas)"


def test_regression_replicas_match_too():
    base = wb.RunConfig(dataset="noisy_regression", model="linear", epochs=2)
    cfgs = [base.replace(scheme="kl_dro", seed=s) for s in (0, 1)]
    for cfg, run in zip(cfgs, train_replicas(cfgs)):
        assert_same_run(run, wb.train(cfg))


def test_incompatible_configs_are_refused_by_train_replicas():
    with pytest.raises(ValueError, match="differ only in scheme"):
        train_replicas([BASE, BASE.replace(epochs=1)])


def test_train_many_groups_and_falls_back_with_a_reason():
    cfgs = [BASE.replace(seed=0), BASE.replace(seed=1, scheme="kl_dro"),
            BASE.replace(epochs=1),  # alone in its group
            BASE.replace(model_params={"hidden": [32], "dropout": 0.2})]
    runs = train_many(cfgs)
    assert [r.config for r in runs] == cfgs
    ex = [r.info["execution"] for r in runs]
    assert ex[0] == ex[1] == "batched (2 replicas)"
    assert ex[2] == "sequential: no compatible run to batch with"
    assert ex[3].startswith("sequential: dropout")
    assert compatibility_key(cfgs[0]) == compatibility_key(cfgs[1])


def test_a_diverging_replica_does_not_disturb_the_others():
    base = wb.RunConfig(dataset="noisy_regression", model="linear", optimizer="sgd", lr=0.01,
                        epochs=3)
    good = base.replace(seed=0)
    bad = base.replace(seed=1, scheme="kl_dro", scheme_params={"lam": 1e-30})
    runs = train_replicas([good, bad])
    alone = wb.train(good)
    assert runs[0].status == "done"
    assert_same_run(runs[0], alone)
