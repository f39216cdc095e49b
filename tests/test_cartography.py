"""Dataset Cartography (Swayamdipta et al. 2020) of tracked samples: hand values, regions,
and the known phenomenon: flipped labels land in the hard-to-learn region."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import workbench as wb
import workbench.figures as wf


def frame(rows):
    return pd.DataFrame(rows, columns=["scheme", "seed", "sample_id", "epoch", "step", "loss",
                                       "weight", "noisy", "label", "group"])


def test_confidence_variability_correctness_by_hand():
    p = [0.9, 0.5, 0.2]  # sample 7, three epochs; epoch 1 drawn twice (p 0.4 and 0.6)
    rows = [("u", 0, 7, 0, 0, -math.log(p[0]), 2.0, False, 1, "a"),
            ("u", 0, 7, 1, 5, -math.log(0.4), 1.0, False, 1, "a"),
            ("u", 0, 7, 1, 6, -math.log(0.6), 3.0, False, 1, "a"),
            ("u", 0, 7, 2, 9, -math.log(p[2]), 2.0, False, 1, "a"),
            ("u", 0, 8, 0, 1, 0.1, 1.0, True, 0, "b")]  # seen in one epoch: left out
    c = wf.cartography(frame(rows))
    assert c["sample_id"].tolist() == [7]
    row = c.iloc[0]
    assert row["confidence"] == pytest.approx(np.mean(p))
    assert row["variability"] == pytest.approx(np.std(p))
    assert row["correctness"] == pytest.approx(1 / 3)  # only 0.9 > 0.5
    assert row["mean_weight"] == pytest.approx(2.0)  # per-epoch means 2, 2, 2
    assert row["region"] == "ambiguous"  # std 0.29 >= 0.2


def test_regions_and_region_table():
    rows = []
    for sid, ps, noisy in ((1, [0.95, 0.97], False), (2, [0.05, 0.1], True),
                           (3, [0.2, 0.9], False)):
        rows += [("u", 0, sid, e, e, -math.log(q), 1.0, noisy, 0, "g") for e, q in enumerate(ps)]
    c = wf.cartography(frame(rows))
    assert dict(zip(c["sample_id"], c["region"])) == {
        1: "easy-to-learn", 2: "hard-to-learn", 3: "ambiguous"}
    table = wf.region_table(c).set_index("noisy")
    assert table.loc[True, "hard-to-learn"] == 1.0
    assert table.loc[False, "easy-to-learn"] == 0.5 and table.loc[False, "n"] == 2


def test_empty_inputs_give_empty_figures():
    assert wf.cartography(pd.DataFrame()).empty
    assert wf.is_empty_figure(wf.cartography_map(wf.cartography(None)))
    assert wf.is_empty_figure(wf.sample_trajectory(frame([]), 3))


def test_flipped_labels_are_hard_to_learn_on_label_noise_digits():
    """The paper's observation, on digits with 20% symmetric label noise, 8 epochs: nearly
    every flipped sample is hard-to-learn under ERM, few clean samples are."""
    cfg = wb.RunConfig(dataset="digits", imbalance=[{"kind": "label_noise", "rate": 0.2}],
                       epochs=8, track=256, seed=0)
    run = wb.train(cfg)
    c = wf.cartography(run.weights.assign(scheme="uniform", seed=0))
    hard = c.groupby("noisy")["region"].apply(lambda r: (r == "hard-to-learn").mean())
    assert c["noisy"].sum() > 20  # flipped samples are among the tracked ones
    assert hard[True] > 0.9 and hard[False] < 0.5, hard
    fig = wf.cartography_map(c)
    assert not wf.is_empty_figure(fig) and len(fig.data) == 1
    one = wf.sample_trajectory(run.weights.assign(scheme="uniform", seed=0),
                               int(c["sample_id"].iloc[0]))
    assert len(one.data) == 2  # loss and weight
