"""Reproduced findings 3 (Group DRO on a spurious correlation) and 5 (reweighting and
calibration), on small settings; the notebooks 13 and 15 run the full versions.

Seeds 0, 1, 2 here; the margins were also checked on seeds 3..9 (finding 3) and 3..8 (finding 5).
"""

from __future__ import annotations

import workbench as wb
from workbench.metrics.posthoc import calibration_table

SEEDS = [0, 1, 2]



def test_group_dro_raises_worst_group_accuracy_on_spurious_digits():
    """Sagawa et al. 2020: with a strong spurious correlation (95% of training samples have
    frame = label), ERM learns the frame; Group DRO keeps the minority groups. Same sampler
    (plain shuffling) and the same selection rule for both: the epoch with the best
    worst-group accuracy on the (group-balanced) validation split."""
    cfg = wb.RunConfig(dataset="spurious_digits", dataset_params={"correlation": 0.95},
                       epochs=10, weight_decay=1e-3, track=0,
                       selection="best_val_worst_group_accuracy")
    cmp = wb.compare(cfg, schemes=["uniform", ("group_dro", {"eta": 0.01})], seeds=SEEDS)
    s = cmp.summaries.set_index(["scheme", "seed"])["worst_group_accuracy"]
    erm, dro = s["uniform"].to_numpy(), s["group_dro"].to_numpy()
    assert (dro > erm).all(), (erm, dro)
    assert dro.mean() > erm.mean() + 0.15, (erm, dro)  # observed 0.76 vs 0.48
    assert erm.mean() < 0.65  # the shortcut is strong enough to hurt ERM


def calibration_runs(epochs: int):
    cfg = wb.RunConfig(dataset="digits", imbalance=[{"kind": "longtail", "ratio": 50}],
                       epochs=epochs, track=0)
    cmp = wb.compare(cfg, schemes=["uniform", ("inverse_frequency", {"p": 1.0})], seeds=SEEDS)
    runs = calibration_table(cmp.frame("predictions"), by_run=True)
    assert len(runs) == 6
    return runs, runs.groupby("scheme")[["ece", "ece_ts", "temperature"]].mean()


def test_reweighting_lowers_ece_that_temperature_scaling_cannot_recover_early():
    """digits, long tail 50 (train only; val and test balanced), 12 epochs: ERM is
    miscalibrated mostly by the class-prior shift (over-confident on head classes);
    inverse-frequency weights (p = 1) lower test ECE; one temperature fitted on val
    (T > 1 for ERM) lowers ERM's ECE but does not reach the reweighted model's."""
    runs, mean = calibration_runs(12)
    erm, rw = mean.loc["uniform"], mean.loc["inverse_frequency"]
    assert (runs.loc[runs["scheme"] == "uniform", "temperature"] > 1.0).all(), runs
    assert rw["ece"] < erm["ece"] - 0.03, mean  # observed 0.043 vs 0.126
    assert erm["ece_ts"] < erm["ece"] - 0.01, mean  # observed 0.089 after scaling
    assert rw["ece_ts"] < erm["ece_ts"] - 0.015, mean


def test_long_training_makes_both_over_confident_and_temperature_scaling_fixes_both():
    """Same setting, 30 epochs: both models over-fit their training set and are
    over-confident on the balanced test split (T ~ 1.7 for both), the ECE gap between the
    schemes shrinks to ~0.02, and temperature scaling lowers every run's ECE."""
    runs, mean = calibration_runs(30)
    assert (runs["temperature"] > 1.3).all() and (runs["ece_ts"] < runs["ece"]).all(), runs
    assert ((mean["ece"] - mean["ece_ts"]) > 0.03).all(), mean  # observed ~0.047 for both
