"""Tests of the weighting schemes: the shared contract for every registered scheme, then
each scheme's formula against values computed by hand (REFERENCE.md sections 1-4)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import workbench as wb
from workbench.schemes import Batch, TrainInfo
from workbench.schemes.base import NORMALISATIONS

N, C, G, B = 50, 3, 2, 16


def make_info(task="classification", y=None, g=None, n_classes=C, n_groups=G, total_steps=100,
              seed=0) -> TrainInfo:
    gen = torch.Generator().manual_seed(seed)
    if y is None:
        y = (torch.randint(0, n_classes, (N,), generator=gen) if task == "classification"
             else torch.randn(N, generator=gen))
    if g is None:
        g = torch.randint(0, n_groups, (len(y),), generator=gen)
    return TrainInfo(task=task, y=y, g=g, n_classes=n_classes if task == "classification" else 1,
                     n_groups=n_groups, total_steps=total_steps)


def make_batch(info: TrainInfo, idx=None, outputs=None, step=10, seed=1) -> Batch:
    gen = torch.Generator().manual_seed(seed)
    if idx is None:
        idx = torch.randperm(info.n, generator=gen)[:B]
    if outputs is None:
        shape = (len(idx), info.n_classes) if info.task == "classification" else (len(idx),)
        outputs = torch.randn(shape, generator=gen)
    return Batch(idx=idx, y=info.y[idx], g=info.g[idx], outputs=outputs.detach(), step=step,
                 n_groups=info.n_groups, n_classes=info.n_classes)


def small_batch(losses, g=None, step=10, total_steps=100):
    """A regression batch whose losses are given directly (the Sow schemes ignore outputs)."""
    losses = torch.as_tensor(losses, dtype=torch.float32)
    g = torch.zeros(len(losses)).long() if g is None else torch.as_tensor(g)
    info = make_info("regression", y=torch.zeros(len(losses)), g=g, n_groups=int(g.max()) + 1,
                     total_steps=total_steps)
    return losses, make_batch(info, idx=torch.arange(len(losses)), step=step), info


def make_scheme(name, task):
    params = {"by": "group"} if task == "regression" and "by" in wb.SCHEMES.params(name) else {}
    return wb.SCHEMES.create(name, **params)


CASES = [(name, task) for name in wb.SCHEMES.names() for task in ("classification", "regression")
         if task in wb.SCHEMES.get(name).tasks]


def run_step(scheme, info, batch, state, outputs=None):
    outputs = batch.outputs if outputs is None else outputs
    losses = scheme.loss(outputs, batch.y, info)
    new_state = scheme.update(losses.detach(), batch, state, info)
    w = scheme.weights(losses.detach(), batch, new_state, info)
    return losses, new_state, w


def assert_mean_one(w):
    assert torch.isfinite(w).all() and (w >= 0).all()
    assert not w.requires_grad
    assert w.mean().item() == pytest.approx(1.0, abs=1e-5)


def assert_normalised(scheme, info, batch, state, w):
    """The weights follow the scheme's declared normalisation (see ``NORMALISATIONS``)."""
    assert torch.isfinite(w).all() and (w >= 0).all() and not w.requires_grad
    kind = scheme.normalisation
    assert kind in NORMALISATIONS
    if kind == "none":
        assert torch.equal(w, torch.ones_like(w))
    elif kind == "per-batch":
        assert_mean_one(w)
    elif kind == "fixed":  # one weight per sample, mean 1 over the whole training set
        everyone = make_batch(info, idx=torch.arange(info.n))
        losses = scheme.loss(everyone.outputs, everyone.y, info).detach()
        table = scheme.weights(losses, everyone, state, info)
        assert table.mean().item() == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(w.numpy(), table[batch.idx].numpy(), rtol=1e-6)
    else:  # group: mean(w) is the q-mass of the groups present in the batch (all here)
        assert set(batch.g.tolist()) == set(range(info.n_groups))
        assert_mean_one(w)


# ---------------------------------------------------------------- contract, every scheme


@pytest.mark.parametrize("name", wb.SCHEMES.names())
def test_documented(name):
    cls = wb.SCHEMES.get(name)
    assert cls.paper and cls.formula and wb.SCHEMES.describe(name)
    assert cls.mode in ("weight", "sample")


@pytest.mark.parametrize("name,task", CASES)
def test_contract(name, task):
    scheme, info = make_scheme(name, task), make_info(task)
    batch = make_batch(info)
    state = scheme.init_state(info)
    for _ in range(3):  # a few steps, state carried over
        _, state, w = run_step(scheme, info, batch, state)
        assert w.shape == (B,)
        assert_normalised(scheme, info, batch, state, w)
    if scheme.mode == "sample":
        p = scheme.sampling_probs(state, info, 0)
        assert p.shape == (N,) and torch.isfinite(p).all() and (p >= 0).all()
        assert p.sum().item() == pytest.approx(1.0, abs=1e-5)


LOSS_ONLY_CASES = [(n, t) for n, t in CASES if wb.SCHEMES.get(n).uniform_on_equal_losses]


@pytest.mark.parametrize("name,task", LOSS_ONLY_CASES)
def test_equal_losses_give_uniform(name, task):
    """Schemes whose weights depend on losses alone are uniform when losses are equal."""
    scheme, info = make_scheme(name, task), make_info(task)
    idx = torch.arange(B)
    # equal logits: CE = log C whatever the label; regression: every squared error 1
    outputs = torch.zeros(B, C) if task == "classification" else info.y[idx] + 1.0
    batch = make_batch(info, idx=idx, outputs=outputs)
    losses, _, w = run_step(scheme, info, batch, scheme.init_state(info))
    assert torch.allclose(losses, losses[0].expand_as(losses))
    assert torch.allclose(w, torch.ones(B), atol=1e-5)


@pytest.mark.parametrize("name,task", CASES)
def test_deterministic_and_state_not_mutated(name, task):
    scheme, info = make_scheme(name, task), make_info(task)
    batch = make_batch(info)
    state = scheme.init_state(info)
    assert all(torch.equal(a, b) for a, b in zip(state.values(),
                                                 scheme.init_state(info).values()))
    _, state, _ = run_step(scheme, info, batch, state)  # a non-initial state
    before = {k: v.clone() for k, v in state.items()}
    _, s1, w1 = run_step(scheme, info, batch, state)
    _, s2, w2 = run_step(scheme, info, batch, state)
    assert torch.equal(w1, w2)
    assert s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)
    assert state.keys() == before.keys()
    assert all(torch.equal(state[k], before[k]) for k in state)


@pytest.mark.parametrize("name,task", CASES)
def test_objective_has_gradient(name, task):
    scheme, info = make_scheme(name, task), make_info(task)
    batch = make_batch(info)
    outputs = batch.outputs.clone().requires_grad_(True)
    losses, _, w = run_step(scheme, info, batch, scheme.init_state(info), outputs=outputs)
    total = scheme.objective(losses, w, outputs, batch)
    assert total.dim() == 0 and torch.isfinite(total)
    total.backward()
    assert outputs.grad is not None and torch.isfinite(outputs.grad).all()
    assert outputs.grad.abs().sum() > 0


# ---------------------------------------------------------------- Sow et al. 2025

# losses [1, 2, 3, 5]: h = (2 l - 6) / 4 = [-1, -0.5, 0, 1]; w = 4 softmax(f(h)), by hand
SOW_CASES = {
    "linupper": ([0.0, 0.5, 1.0, 1.0], [0.494726, 0.815665, 1.344804, 1.344804]),
    "quadratic": ([0.0, 0.75, 1.0, 0.0], [0.585199, 1.238866, 1.590736, 0.585199]),
    "extremes": ([1.0, 0.5, 0.0, 1.0], [1.344804, 0.815665, 0.494726, 1.344804]),
}


@pytest.mark.parametrize("name", sorted(SOW_CASES))
def test_sow_hand_values(name):
    f, expected = SOW_CASES[name]
    e = np.exp(np.array(f))  # independent numpy check of the hand-written numbers
    np.testing.assert_allclose(4 * e / e.sum(), expected, atol=1e-6)
    losses, batch, info = small_batch([1.0, 2.0, 3.0, 5.0])
    w = wb.SCHEMES.create(name).weights(losses, batch, {}, info)
    np.testing.assert_allclose(w.numpy(), expected, atol=1e-5)
    # min-max normalisation: an affine change of the losses leaves the weights unchanged
    w2 = wb.SCHEMES.create(name).weights(10 * losses + 7, batch, {}, info)
    np.testing.assert_allclose(w2.numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("name", sorted(SOW_CASES))
def test_sow_edge_cases(name):
    scheme = wb.SCHEMES.create(name)
    losses, batch, info = small_batch([2.0, 2.0, 2.0])
    assert torch.equal(scheme.weights(losses, batch, {}, info), torch.ones(3))
    # B = 2: weights fixed whatever the losses (only which one is larger matters)
    la, batch2, info2 = small_batch([0.1, 0.2])
    lb, _, _ = small_batch([3.0, 70.0])
    wa, wb_ = scheme.weights(la, batch2, {}, info2), scheme.weights(lb, batch2, {}, info2)
    assert torch.allclose(wa, wb_)
    # large r: near uniform; any r: largest ratio <= e^(1/r) (delta = 1)
    losses = torch.rand(32, generator=torch.Generator().manual_seed(3)) * 5
    _, batch, info = small_batch(losses)
    w = wb.SCHEMES.create(name, r=1e6).weights(losses, batch, {}, info)
    assert torch.allclose(w, torch.ones(32), atol=1e-4)
    for r in (0.25, 1.0, 4.0):
        w = wb.SCHEMES.create(name, r=r).weights(losses, batch, {}, info)
        assert (w.max() / w.min()).item() <= math.exp(1 / r) * (1 + 1e-5)


def test_sow_burn_in():
    scheme = wb.SCHEMES.create("linupper", burn_in=0.5)
    losses, before, info = small_batch([1.0, 2.0, 3.0, 5.0], step=49, total_steps=100)
    _, after, _ = small_batch([1.0, 2.0, 3.0, 5.0], step=50, total_steps=100)
    assert torch.equal(scheme.weights(losses, before, {}, info), torch.ones(4))
    np.testing.assert_allclose(scheme.weights(losses, after, {}, info).numpy(),
                               SOW_CASES["linupper"][1], atol=1e-5)


def test_kl_dro_hand_values():
    losses, batch, info = small_batch([0.0, math.log(3.0)])  # softmax = [1/4, 3/4]
    w = wb.SCHEMES.create("kl_dro").weights(losses, batch, {}, info)
    np.testing.assert_allclose(w.numpy(), [0.5, 1.5], atol=1e-6)
    w = wb.SCHEMES.create("kl_dro", lam=2.0).weights(2 * losses, batch, {}, info)
    np.testing.assert_allclose(w.numpy(), [0.5, 1.5], atol=1e-6)
    big, batch, info = small_batch([1000.0, 1000.0 + math.log(3.0)])  # no overflow
    w = wb.SCHEMES.create("kl_dro").weights(big, batch, {}, info)
    np.testing.assert_allclose(w.numpy(), [0.5, 1.5], atol=1e-3)


# ---------------------------------------------------------------- group DRO


def test_group_dro_adjustment_and_weights_by_hand():
    # training counts n_g = (4, 1, 3): the adjustment C / sqrt(n_g) enters present groups only
    scheme = wb.SCHEMES.create("group_dro", eta=1.0, adjustment=2.0)
    info = make_info("regression", y=torch.zeros(8), g=torch.tensor([0, 0, 0, 0, 1, 2, 2, 2]),
                     n_groups=3)
    q0 = scheme.init_state(info)
    losses, batch, _ = small_batch([1.0, 3.0, 0.5], g=[0, 0, 1])  # group 2 absent
    batch = Batch(idx=batch.idx, y=batch.y, g=batch.g, outputs=batch.outputs, step=0, n_groups=3,
                  n_classes=1)
    q1 = scheme.update(losses, batch, q0, info)["q"]
    u = [math.exp(2.0 + 2.0 / 2.0), math.exp(0.5 + 2.0 / 1.0), 1.0]  # absent: step 0
    np.testing.assert_allclose(q1.numpy(), [x / sum(u) for x in u], rtol=1e-5)
    # weights q_g B / m_g, not rescaled: m = (2, 1) in the batch, group 2 absent
    w = scheme.weights(losses, batch, {"q": q1}, info)
    raw = [q1[0] * 3 / 2, q1[0] * 3 / 2, q1[1] * 3 / 1]
    np.testing.assert_allclose(w.numpy(), raw, rtol=1e-5)
    objective = scheme.objective(losses, w, None, batch)
    assert objective.item() == pytest.approx(float(q1[0] * 2.0 + q1[1] * 0.5), rel=1e-5)
    # a non-finite loss in group 1 leaves that group's q where the others' update puts it
    bad = scheme.update(torch.tensor([1.0, 3.0, float("nan")]), batch, q0, info)["q"]
    assert torch.isfinite(bad).all() and abs(float(bad.sum()) - 1) < 1e-6
    assert float(bad[1] / bad[2]) == pytest.approx(1.0)  # group 1 not updated, like absent 2


def test_group_dro_two_steps_by_hand():
    scheme = wb.SCHEMES.create("group_dro", eta=0.5)
    info = make_info("regression", y=torch.zeros(8), g=torch.tensor([0, 1, 2, 3] * 2),
                     n_groups=4)
    q0 = scheme.init_state(info)
    assert torch.allclose(q0["q"], torch.full((4,), 0.25))
    # step 1: groups 0 (losses 1, 3: mean 2) and 1 (mean 1) present, 2 and 3 absent
    l1, b1, _ = small_batch([1.0, 3.0, 1.0], g=[0, 0, 1])
    s1 = scheme.update(l1, b1, q0, info)
    z1 = 0.25 * (math.e + math.exp(0.5) + 2)
    expected1 = [0.25 * math.e / z1, 0.25 * math.exp(0.5) / z1, 0.25 / z1, 0.25 / z1]
    np.testing.assert_allclose(s1["q"].numpy(), expected1, rtol=1e-5)
    np.testing.assert_allclose(expected1, [0.426933, 0.258948, 0.157060, 0.157060], atol=1e-6)
    assert torch.allclose(q0["q"], torch.full((4,), 0.25))  # input state untouched
    # step 2: group 1 (losses 2: mean 2), group 2 (losses 0, 2: mean 1); 0 and 3 absent
    l2, b2, _ = small_batch([2.0, 0.0, 2.0], g=[1, 2, 2])
    s2 = scheme.update(l2, b2, s1, info)
    u = [expected1[0], expected1[1] * math.e, expected1[2] * math.exp(0.5), expected1[3]]
    expected2 = [x / sum(u) for x in u]
    np.testing.assert_allclose(s2["q"].numpy(), expected2, rtol=1e-5)
    # absent groups are not updated: their ratio to each other is kept
    assert s2["q"][0] / s2["q"][3] == pytest.approx(expected1[0] / expected1[3], rel=1e-5)


def test_group_dro_adjustment_and_weights():
    info = make_info("regression", y=torch.zeros(21), g=torch.tensor([0] * 4 + [1] * 16 + [2]),
                     n_groups=3)
    scheme = wb.SCHEMES.create("group_dro", eta=1.0, adjustment=2.0)
    losses, batch, _ = small_batch([0.0, 0.0, 0.0], g=[0, 1, 1])
    q = scheme.update(losses, batch, scheme.init_state(info), info)["q"]
    # zero losses: steps are 2 / sqrt(4) = 1 and 2 / sqrt(16) = 0.5; group 2 absent: 0
    u = [math.e, math.exp(0.5), 1.0]
    np.testing.assert_allclose(q.numpy(), [x / sum(u) for x in u], rtol=1e-5)
    # weights: w_i = q_g B / m_g, not rescaled (group 2 absent from the batch): the batch's
    # mean weight is the q-mass of the groups present, 0.2 + 0.3
    state = {"q": torch.tensor([0.2, 0.3, 0.5])}
    losses, batch, _ = small_batch([1.0, 2.0, 4.0], g=[0, 0, 1])
    w = scheme.weights(losses, batch, state, info)
    raw = np.array([0.2 * 3 / 2, 0.2 * 3 / 2, 0.3 * 3 / 1])
    np.testing.assert_allclose(w.numpy(), raw, rtol=1e-5)
    assert w.mean().item() == pytest.approx(0.5)
    # all groups present: mean(w l) = sum_g q_g lbar_g
    state = {"q": torch.tensor([0.2, 0.8, 0.0])}
    w = scheme.weights(losses, batch, state, info)
    total = scheme.objective(losses, w, None, batch)
    assert w.mean().item() == pytest.approx(1.0)
    assert total.item() == pytest.approx(0.2 * 1.5 + 0.8 * 4.0, rel=1e-5)


def authors_group_dro(batches, n_groups, eta):
    """Sagawa et al.'s loss.py (compute_group_avg + compute_robust_loss, adj = 0), float32:
    absent groups have group_loss 0; q <- q exp(eta group_loss) / sum; objective
    group_loss @ q."""
    q = torch.full((n_groups,), 1.0 / n_groups)
    out = []
    for losses, g in batches:
        group_map = (g == torch.arange(n_groups).unsqueeze(1)).float()
        count = group_map.sum(1)
        group_loss = group_map @ losses / (count + (count == 0).float())
        q = q * torch.exp(eta * group_loss)
        q = q / q.sum()
        out.append((q.clone(), float(group_loss @ q)))
    return out


def test_group_dro_follows_the_authors_loss_py():
    gen = torch.Generator().manual_seed(0)
    info = make_info("regression", y=torch.zeros(40), g=torch.arange(40) % 4, n_groups=4)
    batches = [(torch.rand(16, generator=gen) * 3, torch.randint(0, 4, (16,), generator=gen))
               for _ in range(30)]
    scheme = wb.SCHEMES.create("group_dro", eta=0.1)
    state = scheme.init_state(info)
    for step, ((losses, g), (q_ref, obj_ref)) in enumerate(
            zip(batches, authors_group_dro(batches, 4, 0.1))):
        batch = Batch(idx=torch.arange(16), y=torch.zeros(16), g=g, outputs=torch.zeros(16),
                      step=step, n_groups=4, n_classes=1)
        state = scheme.update(losses, batch, state, info)
        np.testing.assert_allclose(state["q"].numpy(), q_ref.numpy(), rtol=1e-5, atol=2e-7)
        if bool((batch.group_counts > 0).all()):  # all present: mean(w l) = sum_g q_g lbar_g
            w = scheme.weights(losses, batch, state, info)
            assert float(scheme.objective(losses, w, None, batch)) == pytest.approx(obj_ref,
                                                                                   rel=1e-5)


def test_group_dro_q_never_underflows_to_zero():
    """eta = 1e6: q of the groups that are not the worst underflows to exactly 0 without a
    clamp; ours stops at the smallest normal float, and a batch holding only such a group
    still gets finite weights (before: 0 / 0 = NaN)."""
    info = make_info("regression", y=torch.zeros(8), g=torch.arange(8) % 2, n_groups=2)
    losses, g = torch.tensor([1.0, 2.0]), torch.tensor([0, 1])
    scheme = wb.SCHEMES.create("group_dro", eta=1e6)
    batch = Batch(idx=torch.arange(2), y=torch.zeros(2), g=g, outputs=torch.zeros(2), step=0,
                  n_groups=2, n_classes=1)
    q = scheme.update(losses, batch, scheme.init_state(info), info)["q"]
    # loss.py multiplies by exp(eta l) = inf and gets NaN; in log space q_0 = 1 / (1 + e^1e6)
    # is 0 in any float: ours is clamped to the smallest normal float32 instead
    assert torch.isnan(authors_group_dro([(losses, g)], 2, 1e6)[0][0]).all()
    assert float(q[0]) == torch.finfo(torch.float32).tiny and float(q[1]) == 1.0
    only0 = Batch(idx=torch.arange(3), y=torch.zeros(3), g=torch.zeros(3).long(),
                  outputs=torch.zeros(3), step=1, n_groups=2, n_classes=1)
    w = scheme.weights(torch.ones(3), only0, {"q": q}, info)  # q_0 B / m_0 = q_0: finite
    assert torch.isfinite(w).all() and torch.equal(w, torch.full((3,), float(q[0])))
    q2 = scheme.update(torch.ones(3), only0, {"q": q}, info)["q"]  # and it can recover
    assert torch.isfinite(q2).all() and float(q2.min()) > 0


# ---------------------------------------------------------------- static schemes


def full_batch(info):
    return make_batch(info, idx=torch.arange(info.n))


def test_effective_number_hand_values():
    info = make_info(y=torch.tensor([0] * 10 + [1] * 2), n_classes=2)
    scheme = wb.SCHEMES.create("effective_number", beta=0.9)
    table = scheme.init_state(info)["table"]
    # (1 - 0.9) / (1 - 0.9^10) = 0.153534, (1 - 0.9) / (1 - 0.9^2) = 0.526316;
    # mean 1 over 12 samples: times 12 / (10 * 0.153534 + 2 * 0.526316)
    np.testing.assert_allclose(table.numpy(), [0.711912, 2.440440], atol=1e-5)
    w = scheme.weights(torch.ones(2), make_batch(info, idx=torch.tensor([0, 11])), {"table": table},
                       info)
    # fixed weights: the table itself, not rescaled to the batch's mean
    np.testing.assert_allclose(w.numpy(), [0.711912, 2.440440], atol=1e-5)
    beta0 = wb.SCHEMES.create("effective_number", beta=0.0).init_state(info)["table"]
    assert torch.allclose(beta0, torch.ones(2))
    empty = make_info(y=torch.tensor([0] * 10 + [1] * 2), n_classes=3)  # class 2 empty
    table = scheme.init_state(empty)["table"]
    assert torch.isfinite(table).all() and table[2] == 0


def test_inverse_frequency_matches_sklearn():
    from sklearn.utils.class_weight import compute_sample_weight

    info = make_info(y=torch.tensor([0] * 30 + [1] * 15 + [2] * 5))
    batch = full_batch(info)
    scheme = wb.SCHEMES.create("inverse_frequency")
    w = scheme.weights(torch.ones(info.n), batch, scheme.init_state(info), info).numpy()
    ref = compute_sample_weight("balanced", info.y.numpy())
    np.testing.assert_allclose(w, ref / ref.mean(), rtol=1e-5)
    sqrt = wb.SCHEMES.create("inverse_frequency", p=0.5)
    w_sqrt = sqrt.weights(torch.ones(info.n), batch, sqrt.init_state(info), info).numpy()
    np.testing.assert_allclose(w_sqrt, np.sqrt(ref) / np.sqrt(ref).mean(), rtol=1e-5)
    flat = wb.SCHEMES.create("inverse_frequency", p=0.0)
    assert torch.allclose(flat.weights(torch.ones(info.n), batch, flat.init_state(info), info),
                          torch.ones(info.n))


def test_inverse_frequency_by_group_and_empty_class():
    g = torch.tensor([0] * 40 + [1] * 10)
    info = make_info(g=g)
    scheme = wb.SCHEMES.create("inverse_frequency", by="group")
    table = scheme.init_state(info)["table"]
    np.testing.assert_allclose(table.numpy(), [50 / 80, 50 / 20], rtol=1e-6)  # 1/n_g, mean 1
    w = scheme.weights(torch.ones(2), make_batch(info, idx=torch.tensor([0, 45])),
                       {"table": table}, info)
    np.testing.assert_allclose(w.numpy(), [50 / 80, 50 / 20], rtol=1e-6)  # the table itself
    empty = make_info(y=torch.tensor([0] * 30 + [2] * 20))  # class 1 empty
    table = wb.SCHEMES.create("inverse_frequency").init_state(empty)["table"]
    assert torch.isfinite(table).all() and table[1] == 0
    with pytest.raises(ValueError, match="by='class' needs a classification"):
        wb.SCHEMES.create("inverse_frequency").init_state(make_info("regression"))


# ---------------------------------------------------------------- temperature sampling


def test_temperature_sampling():
    info = make_info(y=torch.tensor([0] * 30 + [1] * 15 + [2] * 5))
    natural = wb.SCHEMES.create("temperature_sampling", tau=1.0)
    p = natural.sampling_probs(natural.init_state(info), info, 0)
    assert torch.allclose(p, torch.full((50,), 1 / 50))
    assert torch.allclose(natural.equivalent_weights(info), torch.ones(50))
    for tau in (1e6, float("inf")):
        flat = wb.SCHEMES.create("temperature_sampling", tau=tau)
        p = flat.sampling_probs(flat.init_state(info), info, 0)
        mass = torch.zeros(3).index_add_(0, info.y, p)
        assert torch.allclose(mass, torch.full((3,), 1 / 3), atol=1e-5)
    # tau = 2: q_c proportional to sqrt(n_c / N); equivalent weights q_c N / n_c
    s = wb.SCHEMES.create("temperature_sampling", tau=2.0)
    q = np.sqrt([30, 15, 5]) / np.sqrt([30, 15, 5]).sum()
    state = s.init_state(info)
    np.testing.assert_allclose(state["mass"].numpy(), q, rtol=1e-5)
    eq = s.equivalent_weights(info).numpy()
    np.testing.assert_allclose(eq, (q * 50 / np.array([30, 15, 5]))[info.y.numpy()], rtol=1e-5)
    # full-batch equivalence: E_sampling[l] = sum_i p_i l_i = mean_i(w_i l_i)
    losses = np.random.default_rng(0).random(50)
    p = s.sampling_probs(state, info, 0).numpy()
    assert (p * losses).sum() == pytest.approx((eq * losses).mean(), rel=1e-5)
    assert torch.equal(s.weights(torch.rand(4), make_batch(info, torch.arange(4)), state, info),
                       torch.ones(4))


def test_temperature_sampling_extremes_and_groups():
    info = make_info(y=torch.tensor([0] * 30 + [2] * 20), g=torch.tensor([0] * 10 + [1] * 40))
    sharp = wb.SCHEMES.create("temperature_sampling", tau=1e-3)
    p = sharp.sampling_probs(sharp.init_state(info), info, 0)
    assert torch.isfinite(p).all() and p[:30].sum() == pytest.approx(1.0, abs=1e-6)
    by_group = wb.SCHEMES.create("temperature_sampling", tau=float("inf"), by="group")
    p = by_group.sampling_probs(by_group.init_state(info), info, 0)
    assert p[:10].sum() == pytest.approx(0.5, abs=1e-6)
    np.testing.assert_allclose(p[:10].numpy(), 0.05, rtol=1e-5)


# ---------------------------------------------------------------- focal


def focal_batch():
    info = make_info(y=torch.tensor([0, 1]), n_classes=2)
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    return info, make_batch(info, idx=torch.arange(2), outputs=logits), logits


def test_focal_hand_values():
    info, batch, logits = focal_batch()
    ce = F.cross_entropy(logits, batch.y, reduction="none")
    # CE = [log(1 + e^-2), log 2] = [0.126928, 0.693147]; (1 - p_t)^2 = [0.014209, 0.25]
    w = wb.SCHEMES.create("focal").weights(ce, batch, {}, info)
    np.testing.assert_allclose(w.numpy(), np.array([0.014209, 0.25]) * 2 / 0.264209, atol=1e-5)
    total = wb.SCHEMES.create("focal").objective(ce, w, logits, batch)
    assert total.item() == pytest.approx((0.014209 * 0.126928 + 0.25 * 0.693147) / 2, rel=1e-4)


@pytest.mark.parametrize("variant", ["true", "detached"])
def test_focal_gamma_zero_is_cross_entropy(variant):
    info, batch, logits = focal_batch()
    scheme = wb.SCHEMES.create("focal", gamma=0.0, variant=variant)
    ce = F.cross_entropy(logits, batch.y, reduction="none")
    w = scheme.weights(ce, batch, {}, info)
    assert torch.equal(w, torch.ones(2))
    assert scheme.objective(ce, w, logits, batch).item() == pytest.approx(ce.mean().item())


def test_focal_true_gradient_differs_from_detached():
    info, batch, logits = focal_batch()
    grads = {}
    for variant in ("true", "detached"):
        scheme = wb.SCHEMES.create("focal", variant=variant)
        out = logits.clone().requires_grad_(True)
        losses = scheme.loss(out, batch.y, info)
        w = scheme.weights(losses.detach(), batch, {}, info)
        scheme.objective(losses, w, out, batch).backward()
        grads[variant] = out.grad
    assert not torch.allclose(grads["true"], grads["detached"], atol=1e-4)


# ---------------------------------------------------------------- validation

BAD = [
    ("linupper", {"r": 0}, "linupper r must be"),
    ("quadratic", {"r": -1.0}, "quadratic r must be"),
    ("extremes", {"delta": 0.0}, "extremes delta must be"),
    ("linupper", {"burn_in": 1.0}, r"burn_in must be .*\[0, 1\)"),
    ("kl_dro", {"lam": 0.0}, "kl_dro lam must be .*> 0"),
    ("inverse_frequency", {"p": -0.5}, "inverse_frequency p must be .*>= 0"),
    ("inverse_frequency", {"by": "domain"}, "by must be one of class, group"),
    ("effective_number", {"beta": 1.0}, r"beta must be a number in \[0, 1\)"),
    ("effective_number", {"beta": -0.1}, r"beta must be a number in \[0, 1\)"),
    ("focal", {"gamma": -1.0}, "focal gamma must be .*>= 0"),
    ("focal", {"variant": "soft"}, "variant must be one of true, detached"),
    ("group_dro", {"eta": -0.01}, "group_dro eta must be .*>= 0"),
    ("group_dro", {"adjustment": -1.0}, "group_dro adjustment must be .*>= 0"),
    ("temperature_sampling", {"tau": 0.0}, "tau must be a number >= 0.001"),
    ("temperature_sampling", {"tau": "inf"}, "tau must be a number"),
    ("uniform", {"p": 1.0}, "has no parameter 'p'"),
]


@pytest.mark.parametrize("name,params,message", BAD)
def test_bad_hyper_parameters(name, params, message):
    with pytest.raises(ValueError, match=message):
        wb.SCHEMES.create(name, **params)


TINY_RANGE = r"allowed: \[1\.18e-38, 3\.4e\+38\]"
FLOAT32 = [  # values float32 training cannot represent (before: silent uniform or NaN)
    ("cvar", "alpha", 1e-40, r"1/alpha overflows float32\); allowed: \[1\.18e-38, 1\]"),
    ("kl_dro", "lam", 1e-40, TINY_RANGE),
    ("kl_dro", "lam", 1e39, TINY_RANGE),
    ("linupper", "r", 1e-40, TINY_RANGE),
    ("extremes", "r", 3.5e38, TINY_RANGE),
    ("quadratic", "delta", 1e-20, r"allowed: \[1\.08e-19, 1\.84e\+19\]"),
    ("linupper", "delta", 1e20, r"allowed: \[1\.08e-19, 1\.84e\+19\]"),
    ("focal", "gamma", 1e39, r"allowed: \[0, 3\.4e\+38\]"),
    ("group_dro", "eta", 1e39, r"allowed: \[0, 3\.4e\+38\]"),
    ("group_dro", "adjustment", 1e39, r"allowed: \[0, 3\.4e\+38\]"),
    ("logit_adjustment", "tau", 1e39, r"allowed: \[0, 3\.4e\+38\]"),
    ("doremi", "eta", 1e39, r"allowed: \[0, 3\.4e\+38\]"),
]


@pytest.mark.parametrize("name,field,value,allowed", FLOAT32)
def test_values_float32_cannot_represent_are_rejected(name, field, value, allowed):
    with pytest.raises(ValueError, match=f"{name} {field} = {re.escape(repr(value))} is "
                                         f"outside what float32 training can represent .*"
                                         f"{allowed}"):
        wb.SCHEMES.create(name, **{field: value})


def test_extreme_values_in_range_keep_their_meaning():
    """At the ends of the allowed ranges the weights are the formula's limit, not uniform."""
    tiny = torch.finfo(torch.float32).tiny
    losses, batch, info = small_batch([0.1, 3.0, 2.0, 0.5])
    top = [0.0, 4.0, 0.0, 0.0]  # all weight on the largest loss
    for name, params in [("cvar", {"alpha": tiny}), ("kl_dro", {"lam": tiny}),
                         ("linupper", {"r": tiny, "delta": 1.8e19})]:
        w = wb.SCHEMES.create(name, **params).weights(losses, batch, {}, info)
        assert w.tolist() == (top if name != "linupper" else [0.0, 2.0, 2.0, 0.0]), name
    big = wb.SCHEMES.create("kl_dro", lam=1e-37).weights(losses * 1e3, batch, {}, info)
    assert big.tolist() == top  # l / lam would overflow: (l - max l) / lam does not
    # focal at gamma = 1e10: all weight on the least confident sample (was: uniform)
    logits = torch.tensor([[3.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    info_c = make_info(y=torch.zeros(4).long(), n_classes=2)
    b = Batch(idx=torch.arange(4), y=torch.zeros(4).long(), g=torch.zeros(4).long(),
              outputs=logits, step=0, n_groups=2, n_classes=2)
    w = wb.SCHEMES.create("focal", gamma=1e10).weights(torch.zeros(4), b, {}, info_c)
    assert w.tolist() == [0.0, 0.0, 0.0, 4.0]
    w2 = wb.SCHEMES.create("focal", gamma=2.0).weights(torch.zeros(4), b, {}, info_c)
    factor = (1 - torch.softmax(logits, 1)[:, 0]) ** 2
    np.testing.assert_allclose(w2.numpy(), (factor / factor.mean()).numpy(), rtol=1e-5)
    # Group DRO and DoReMi with eta = 1e38: eta l overflows float32; q/alpha go to the
    # worst group instead of NaN (Group DRO) or staying frozen (DoReMi)
    from workbench.schemes.doremi import DoReMiProxy

    g = torch.tensor([0, 1, 0, 1])
    hard0 = torch.tensor([10.0, 1.0, 10.0, 1.0])
    b = Batch(idx=torch.arange(4), y=torch.zeros(4), g=g, outputs=torch.zeros(4), step=0,
              n_groups=2, n_classes=1)
    info_g = make_info("regression", y=torch.zeros(8), g=torch.arange(8) % 2, n_groups=2)
    dro = wb.SCHEMES.create("group_dro", eta=1e38)
    q = dro.update(hard0, b, dro.init_state(info_g), info_g)["q"]
    assert q.tolist() == [1.0, tiny]
    proxy = DoReMiProxy(eta=1e38)
    alpha = proxy.update(hard0, b, proxy.init_state(info_g), info_g)["alpha"]
    assert alpha[0] > 0.999 and alpha[1] < 1e-3


@pytest.mark.parametrize("name", ["linupper", "quadratic", "extremes"])
def test_a_delta_out_of_float32_range_is_explained_by_the_scheme_itself(name):
    """Each Sow et al. strategy's message names itself (linupper's used to say quadratic)."""
    with pytest.raises(wb.ConfigError) as err:
        wb.SCHEMES.create(name, delta=1e40)
    why = str(err.value).split("(", 1)[1]
    assert why.startswith(name) and str(err.value).startswith(f"{name} delta = 1e+40")
