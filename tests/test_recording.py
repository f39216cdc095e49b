"""The recorder: records per replica that do not depend on how steps are chunked.

The recorder keeps each step's tensors by reference and turns a chunk of steps into
records at once (batches of different widths, replicas that stop early). Fed the same
steps, any chunk size must give exactly the frames of chunk size 1, and each replica's
frames must be those of a recorder that saw that replica alone. The weight diagnostics
are checked against ``metrics.weight_diagnostics`` (the one shared formula).
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from workbench import metrics
from workbench.recording import Recorder

N, G, C, R = 40, 2, 3, 3
Y = torch.arange(N) % C
GROUPS = (torch.arange(N) // 7) % G


def steps(seed: int = 0):
    """Twelve steps of R replicas; widths 8 and 5; replica 2 stops after step 6."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for t in range(12):
        width = 5 if t % 4 == 3 else 8
        idx = torch.stack([torch.randperm(N, generator=gen)[:width] for _ in range(R)])
        losses = torch.rand((R, width), generator=gen)
        w = torch.rand((R, width), generator=gen) * 2
        w[1, 0] = 0.0  # a zero weight: max/min is inf
        alive = [0, 1] if t > 6 else [0, 1, 2]
        out.append((t, idx, losses, w, (w * losses).mean(1), alive))
    return out


def record(chunk: int, replicas=range(R)) -> Recorder:
    rs = list(replicas)
    rec = Recorder(Y, GROUPS, G, C, 12, 4, track=10, seeds=[7 + r for r in rs],
                   state_keys=[("q",)] * len(rs), chunk=chunk)
    for t, idx, losses, w, obj, alive in steps():
        states = [{"q": torch.full((G,), float(t + r))} for r in rs]
        alive_here = [j for j, r in enumerate(rs) if r in alive]
        rec.on_step(t, idx[rs], losses[rs], w[rs], obj[rs], states, alive_here)
    return rec


def frames(rec: Recorder, r: int):
    v = rec.view(r)
    ids, noisy = torch.arange(N) + 100, torch.zeros(N, dtype=torch.bool)
    return (v.history(["a", "b"], ["x", "y", "z"]),
            v.weights(ids, Y, GROUPS, noisy, ["a", "b"]))


@pytest.mark.parametrize("chunk", [2, 5, 64])
def test_chunk_size_does_not_change_the_records(chunk):
    one, many = record(1), record(chunk)
    for r in range(R):
        for a, b in zip(frames(one, r), frames(many, r)):
            pd.testing.assert_frame_equal(a, b)
    assert one.steps == many.steps == [12, 12, 7]


def test_each_replica_records_what_it_would_alone():
    together = record(64)
    for r in range(R):
        alone = record(64, replicas=[r])
        for a, b in zip(frames(together, r), frames(alone, 0)):
            pd.testing.assert_frame_equal(a, b)


def test_diagnostics_and_group_means_match_direct_computation():
    rec = record(4)
    history, weights = frames(rec, 1)
    for t, idx, losses, w, obj, _ in steps():
        d = metrics.weight_diagnostics(w[1])
        at = history[(history.step == t) & (history.group == "all")].set_index("metric")["value"]
        assert at["ess"] == pytest.approx(float(d["ess"]), rel=1e-6)
        assert at["max_min_ratio"] == float("inf") == float(d["max_min_ratio"])
        assert at["entropy"] == pytest.approx(float(d["entropy"]), rel=1e-5, abs=1e-6)
        assert at["loss"] == pytest.approx(float(losses[1].mean()), rel=1e-6)
        assert at["objective"] == pytest.approx(float(obj[1]), rel=1e-6)
        mine = GROUPS[idx[1]] == 1
        row = history[(history.step == t) & (history.group == "b")].set_index("metric")["value"]
        assert row["share"] == pytest.approx(float(mine.float().mean()))
        assert row["weight"] == pytest.approx(float(w[1][mine].mean()), rel=1e-6)
        assert row["q"] == t + 1  # the recorded state vector of replica 1
    tracked = set(rec.tracked[1].tolist())
    expected = sum(int(p in tracked) for _, idx, *_ in steps() for p in idx[1].tolist())
    assert len(weights) == expected and weights["step"].is_monotonic_increasing


@pytest.mark.parametrize("groups", [["a", "b"], ["all", "class"]])
def test_frames_built_together_are_each_replicas_frames(groups):
    """``histories``/``weight_frames`` build all replicas' frames as one table and split it:
    each part equals the frame read alone (replica 2 stopped early; names that are also
    level names, such as a group called "all", keep their own rows)."""
    rec = record(64)
    ids, noisy = torch.arange(N) + 100, torch.zeros(N, dtype=torch.bool)
    evals = [[{"step": 12, "epoch": 3, "split": "val", "level": "group", "group": groups[0],
               "metric": "loss", "value": 0.5 + r}] for r in range(R)]
    together = rec.histories([0, 1, 2], groups, ["x", "y", "z"], evals)
    weights = rec.weight_frames([0, 1, 2], ids, Y, GROUPS, noisy, groups)
    for r in range(R):
        alone = rec.histories([r], groups, ["x", "y", "z"], [evals[r]])[0]
        pd.testing.assert_frame_equal(together[r], alone)
        pd.testing.assert_frame_equal(weights[r], rec.weight_frames([r], ids, Y, GROUPS, noisy,
                                                                    groups)[0])
        shares = alone[(alone.metric == "share") & (alone.level == "group")]
        assert sorted(set(shares.group)) == sorted(groups)
        assert len(shares) == G * rec.steps[r]
        assert alone.iloc[-1]["value"] == 0.5 + r and alone.iloc[-1]["epoch"] == 3
