"""Just Train Twice (Liu et al., ICML 2021): a two-stage scheme.

Stage 1 ("jtt_stage1") trains plain ERM for a few epochs; the training samples its model
gets wrong form the error set E, which on spurious-correlation data is mostly the minority
groups (the samples the shortcut fails on). Stage 2, the run's main stage, trains a fresh
model with E up-weighted (or up-sampled) by ``lambda_up``: no group labels are needed.

``stage_epochs`` (the length of an earlier stage as a fraction of the run) is shared with
the other multi-stage schemes (pruning, DoReMi).

Example:
    >>> stage_epochs(0.2, 30), stage_epochs(0.2, 2)
    (6, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..params import param
from .base import SCHEMES, Batch, Scheme, State, TrainInfo, mean_one_over_train

MODES = ("weight", "sample")


def stage_epochs(fraction: float, run_epochs: int) -> int:
    """Epochs of an earlier stage: ``fraction`` of the run's epochs, rounded, at least 1."""
    return max(1, round(fraction * run_epochs))


def stage_fraction(default: float, help: str):
    """A stage length declared as a fraction of the run's epochs, in (0, 1]."""
    return param(default, low=0, high=1, closed="right", noun="a fraction of the run's epochs",
                 help=help)


def group_error_report(error: torch.Tensor, g: torch.Tensor, group_names: list[str]) -> dict:
    """Size of the error set, and per group its share of E and the group's error rate."""
    n, size = error.numel(), int(error.sum())
    report = {"error_set_size": float(size), "error_set_fraction": size / max(n, 1)}
    for k, name in enumerate(group_names):
        members = g == k
        wrong = int((error & members).sum())
        report[f"error_set_share_{name}"] = wrong / size if size else 0.0
        report[f"error_rate_{name}"] = wrong / int(members.sum()) if members.any() else 0.0
    return report


@SCHEMES.register("jtt")
@dataclass(frozen=True)
class JTT(Scheme):
    """Just Train Twice (Liu et al., ICML 2021): up-weight what a short ERM run got wrong.

    Stage 1 ("jtt_stage1", recorded in ``run.stages``): ERM (uniform weights) for T epochs,
    T = ``stage1_epochs`` x the run's epochs (rounded, at least 1). The error set E is the
    training samples its model misclassifies. The main stage trains afresh with E
    up-weighted by ``lambda_up`` (paper: 20 to 100): ``mode="weight"`` gives fixed
    per-sample weights proportional to lambda_up (E) or 1, rescaled once to mean 1 over the
    training set and never per batch (so E's share of the objective is the paper's
    lambda_up |E| / (lambda_up |E| + N - |E|) at any batch size); ``mode="sample"``
    draws sample i with probability proportional to lambda_up (E) or 1, uniform loss weights.
    State: ``error`` (N,) bool, ``upweight`` (N,) float, and after ``prepare`` a
    ``report`` (error-set size and fraction; per group its share of E and error rate).
    Our choices: stage 1 uses the run's seed, optimiser and model-selection rule (so it is
    the uniform run of T epochs); the paper tunes T and lambda_up on worst-group validation
    accuracy, we leave that to the user. Until ``prepare`` runs (no earlier stage, e.g. in
    unit tests) E is empty, so weights and draws are uniform.

    Example:
        >>> JTT(lambda_up=50.0).params()
        {'mode': 'weight', 'stage1_epochs': 0.2, 'lambda_up': 50.0}
    """

    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    uniform_on_equal_losses: ClassVar[bool] = False  # weights follow the error set
    normalisation: ClassVar[str] = "fixed"  # mode="weight"; mode="sample" draws instead
    paper: ClassVar[str] = ("Liu et al., Just Train Twice: Improving Group Robustness without "
                            "Training Group Information, ICML 2021")
    formula: ClassVar[str] = (r"E = \{i : \hat y^{(1)}_i \ne y_i\},\quad "
                              r"w_i = \lambda_{up}^{[i \in E]}")
    stage1_epochs: float = stage_fraction(0.2, "Length of the ERM stage that finds the error "
                                               "set E, as a fraction of the run's epochs.")
    lambda_up: float = param(20.0, low=1, log=True,
                             help="Up-weighting factor of the error set E (paper: 20 to 100).")
    mode: str = param("weight", choices=MODES,  # instance field, shadows Scheme.mode
                      help="'weight': up-weight E; 'sample': up-sample E (uniform weights).")

    def init_state(self, info: TrainInfo) -> State:
        return {"error": torch.zeros(info.n, dtype=torch.bool, device=info.y.device),
                "upweight": torch.ones(info.n, device=info.y.device)}

    def prepare(self, ctx, state: State) -> State:
        """Train stage 1 (ERM), find its error set, set the up-weights of the main stage."""
        epochs = stage_epochs(self.stage1_epochs, ctx.config.epochs)
        first = ctx.fit("uniform", epochs=epochs, stage="jtt_stage1")
        tr = ctx.splits["train"]
        error = ctx.outputs(first.model, "train").argmax(dim=1) != tr.y
        upweight = mean_one_over_train(torch.where(error, float(self.lambda_up), 1.0)
                                       .to(torch.float32))
        report = group_error_report(error.cpu(), tr.g.cpu(), ctx.data.group_names)
        return {**state, "error": error, "upweight": upweight,
                "report": {**report, "stage1_epochs": float(epochs)}}

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        if self.mode == "sample":
            return torch.ones_like(losses)
        up = state["upweight"].to(losses.device)[batch.idx.to(losses.device)]
        return up.detach()

    def sampling_probs(self, state: State, info: TrainInfo, step: int) -> torch.Tensor | None:
        if self.mode != "sample":
            return None
        up = state["upweight"].to(torch.float64)
        return (up / up.sum()).to(torch.float32)
