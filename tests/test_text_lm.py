"""The lm task: ``text_domains``, the ``transformer`` model, lm losses and summaries, and
reproduced finding 2 (Sow et al., ICLR 2025: loss-based reweighting, REFERENCE.md section 3).

Small settings throughout (tiny model, short windows) so the file runs in well under a minute.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import workbench as wb
from workbench.data.text import DOMAINS, VOCAB, TextDomains, decode, encode
from workbench.schemes import per_sample_loss

SMALL_DATA = {"n_per_domain": 100, "seq_len": 32, "duplicate_fraction": 1.0}
SMALL_MODEL = {"d_model": 32, "n_layers": 1, "n_heads": 2}


def lm_config(scheme="uniform", epochs=8, **kw):
    return wb.RunConfig(dataset="text_domains", dataset_params=SMALL_DATA, model="transformer",
                        model_params=SMALL_MODEL, scheme=scheme, epochs=epochs, batch_size=16,
                        lr=5e-3, eval_every=epochs, track=32, **kw)


@pytest.fixture(scope="module")
def lm_runs():
    """One short run per scheme on the same data and seed (finding 2b uses all of them)."""
    return {s: wb.train(lm_config(s)) for s in ("uniform", "linupper", "quadratic", "kl_dro")}


def mean_weight(run) -> dict[str, float]:
    h = run.history
    w = h[(h.split == "train_batch") & (h.metric == "weight")]
    return w.groupby("group")["value"].mean().to_dict()


# ---------------------------------------------------------------- data


def test_text_domains_shapes_dtypes_and_splits():
    b = TextDomains(**SMALL_DATA).load(seed=0)
    assert b.task == "lm" and b.group_names == list(DOMAINS) and b.class_names == []
    assert b.extra["vocab_size"] == len(VOCAB) == 96 and b.extra["itos"] == VOCAB
    for name in ("train", "val", "test"):
        s = getattr(b, name)
        assert s.X.dtype == s.y.dtype == np.int64 and s.X.shape == s.y.shape == (len(s), 32)
        assert s.X.min() >= 0 and s.X.max() < len(VOCAB)
        assert set(np.unique(s.g)) == set(range(len(DOMAINS)))  # every domain in every split
        np.testing.assert_array_equal(s.X[:, 1:], s.y[:, :-1])  # y is X shifted by one
    counts = b.counts("train")["group"].tolist()
    assert counts[1] == 2 * counts[0]  # duplicate_fraction 1: boilerplate doubled in train
    dup = b.extra["duplicate_of"]
    assert (dup >= 0).sum() == counts[0] and len(dup) == len(b.train)
    assert len(np.unique(b.train.ids)) == len(b.train)  # repeats get fresh ids
    for name in ("val", "test"):  # 15% of every domain
        assert set(b.counts(name)["group"].tolist()) <= {15, 16}


def test_text_domains_is_deterministic_and_seeded():
    a, b = TextDomains(**SMALL_DATA).load(3), TextDomains(**SMALL_DATA).load(3)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    np.testing.assert_array_equal(a.test.y, b.test.y)
    assert not np.array_equal(a.train.X, TextDomains(**SMALL_DATA).load(4).train.X)
    only = TextDomains(n_per_domain=20, domains=["random"]).load(0)
    assert only.group_names == ["random"] and only.train.X.shape[1] == 64


def test_vocabulary_round_trip_and_bad_params():
    text = "def f(x):\n    return {'a': x ~ 1}  # ok!"
    assert decode(encode(text)) == text
    assert decode(encode("tab\there é")) == "tab    here "  # tab -> 4 spaces, non-ASCII dropped
    assert decode(range(len(VOCAB))) == VOCAB
    with pytest.raises(ValueError, match="domains must be a non-empty list"):
        TextDomains(domains=["english", "klingon"])
    with pytest.raises(ValueError, match="seq_len must be an integer"):
        TextDomains(seq_len=0)


# ---------------------------------------------------------------- model and loss


def test_transformer_is_causal_and_shaped():
    torch.manual_seed(0)
    model = wb.MODELS.create("transformer", **SMALL_MODEL).build(16, 96).eval()
    x = torch.randint(0, 96, (3, 16))
    out = model(x)
    assert out.shape == (3, 16, 96)
    x2 = x.clone()
    x2[:, 10] = (x2[:, 10] + 1) % 96  # change a "future" token
    out2 = model(x2)
    torch.testing.assert_close(out[:, :10], out2[:, :10])  # earlier positions untouched
    assert not torch.allclose(out[:, 10:], out2[:, 10:])
    untied = wb.MODELS.create("transformer", tied=False, **SMALL_MODEL).build(16, 96)
    tied = wb.MODELS.create("transformer", **SMALL_MODEL).build(16, 96)
    assert untied.head is not None and tied.head is None  # tied: logits use tok.weight
    def size(m):
        return sum(p.numel() for p in m.parameters())

    assert size(untied) - size(tied) == 96 * 32
    with pytest.raises(ValueError, match="divisible by n_heads"):
        wb.MODELS.create("transformer", d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="max_len 8 is shorter"):
        wb.MODELS.create("transformer", max_len=8).build(16, 96)


def test_lm_per_sample_loss_is_mean_token_cross_entropy():
    gen = torch.Generator().manual_seed(0)
    logits, y = torch.randn(4, 5, 7, generator=gen), torch.randint(0, 7, (4, 5), generator=gen)
    manual = torch.stack([
        torch.stack([-torch.log_softmax(logits[b, t], 0)[y[b, t]] for t in range(5)]).mean()
        for b in range(4)])
    torch.testing.assert_close(per_sample_loss(logits, y, "lm"), manual)
    flat = F.cross_entropy(logits.reshape(-1, 7), y.reshape(-1))
    torch.testing.assert_close(per_sample_loss(logits, y, "lm").mean(), flat)


def test_lm_config_errors_are_clear():
    with pytest.raises(ValueError, match="use model='transformer' for the lm task"):
        wb.RunConfig(dataset="text_domains", model="mlp").validate()
    with pytest.raises(ValueError, match="by='class' needs classes.*lm task: use by='group'"):
        wb.RunConfig(dataset="text_domains", model="transformer",
                     scheme="inverse_frequency").validate()
    wb.RunConfig(dataset="text_domains", model="transformer", scheme="inverse_frequency",
                 scheme_params={"by": "group"}).validate()


# ---------------------------------------------------------------- training


def test_lm_training_reports_per_domain_perplexity(lm_runs):
    run = lm_runs["linupper"]
    assert run.status == "done", run.message
    s = run.summary
    assert {"perplexity", "worst_group_perplexity", "loss"} | {f"perplexity:{d}" for d in DOMAINS} \
        == set(s)
    assert all(isinstance(v, float) and math.isfinite(v) for v in s.values())
    assert s["worst_group_perplexity"] == max(s[f"perplexity:{d}"] for d in DOMAINS)
    assert math.isclose(s["perplexity"], math.exp(s["loss"]))
    # perplexity rows are exp of the group's mean loss, overall and per domain
    h = run.history[(run.history.split == "test")]
    loss = h[h.metric == "loss"].set_index("group")["value"]
    ppl = h[h.metric == "perplexity"].set_index("group")["value"]
    assert np.allclose(np.exp(loss[ppl.index]), ppl)
    p = run.predictions
    assert list(p.columns) == ["split", "sample_id", "group", "loss"]
    assert "class" not in set(run.history.level)
    assert (run.weights["label"] == -1).all()


def test_random_domain_is_unlearnable_english_is_not(lm_runs):
    s = lm_runs["uniform"].summary
    assert s["perplexity:random"] > 80  # uniform over 95 characters: 95 at best
    assert s["perplexity:english"] < 0.5 * s["perplexity:random"]
    assert s["perplexity:boilerplate"] < s["perplexity:english"]  # near-duplicates: easiest


# ---------------------------------------------------------------- finding 2


def _test_mse_auc(scheme: str, seed: int, corrupt: float, epochs: int) -> tuple[float, float]:
    """(mean test MSE over the per-epoch evaluations = area under the curve / budget, final)."""
    run = wb.train(wb.RunConfig(
        dataset="noisy_regression", dataset_params={"corrupt": corrupt}, model="linear",
        optimizer="sgd", lr=3e-4, batch_size=32, epochs=epochs, scheme=scheme, seed=seed,
        data_seed=seed, track=0))
    curve = run.curve("mse", "test")["value"]
    return float(curve.mean()), float(curve.iloc[-1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finding2a_linupper_and_quadratic_converge_faster_on_clean_regression(seed):
    """Sow et al.'s toy claim (r = 1): on clean linear regression under SGD, LinUpper's and
    Quadratic's test-MSE curves lie below uniform's (smaller area under the curve)."""
    auc = {s: _test_mse_auc(s, seed, corrupt=0.0, epochs=8)[0]
           for s in ("uniform", "linupper", "quadratic")}
    assert auc["linupper"] < 0.85 * auc["uniform"]
    assert auc["quadratic"] < 0.95 * auc["uniform"]
    assert auc["linupper"] < auc["quadratic"]  # LinUpper fastest, as in the paper's Fig. 7


def test_finding2a_linupper_hurts_with_corrupted_targets():
    """Not in the paper's toy: with 20% corrupted targets LinUpper gives the (high-loss)
    corrupted samples the top weight and ends with a clearly worse test MSE."""
    for seed in (0, 1, 2):
        final = {s: _test_mse_auc(s, seed, corrupt=0.2, epochs=8)[1]
                 for s in ("uniform", "linupper")}
        assert final["linupper"] > 1.5 * final["uniform"]


def test_finding2b_weights_per_domain(lm_runs):
    """LinUpper down-weights the easy, duplicated boilerplate (whose perplexity then rises)
    and caps the random domain at the top weight; Quadratic down-weights random below 1;
    KL-DRO (weights exponential in the raw loss) piles far more weight onto random."""
    lin, quad, kl = (mean_weight(lm_runs[s]) for s in ("linupper", "quadratic", "kl_dro"))
    assert lin["boilerplate"] == min(lin.values()) and lin["boilerplate"] < 0.9
    assert 1.0 < lin["random"] < math.e  # the cap: max/min weight ratio e^(1/r), r = 1
    assert quad["random"] < 0.8 and quad["random"] == min(quad.values())
    assert kl["random"] > 1.5 * lin["random"]
    assert set(mean_weight(lm_runs["uniform"]).values()) == {1.0}
    ppl = {s: lm_runs[s].summary for s in ("uniform", "linupper")}
    assert ppl["linupper"]["perplexity:boilerplate"] > ppl["uniform"]["perplexity:boilerplate"]
