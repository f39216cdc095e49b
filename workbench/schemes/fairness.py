"""Fairness-oriented weighting.

``fairness_reweighing`` (Kamiran and Calders 2012) is static: it weights each
(group, label) cell so that label and group become statistically independent in the
weighted training set. ``fair_error_bound`` (Harvard-FairSeg, Tian et al. 2024; Luo et al.
2024) is dynamic: groups whose losses run high get more weight, tracked with an
exponential moving average of a high quantile of each group's batch losses.

Example:
    >>> import torch
    >>> from workbench.schemes.base import TrainInfo
    >>> info = TrainInfo(task="classification", y=torch.tensor([0, 0, 1, 1]),
    ...                  g=torch.tensor([0, 0, 0, 1]), n_classes=2, n_groups=2, total_steps=10)
    >>> FairnessReweighing().init_state(info)["table"]  # cell (1, 0) empty: rescaled to mean 1
    tensor([[0.8571, 1.7143],
            [0.0000, 0.5714]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..params import param
from ..registry import check
from .base import (
    SCHEMES,
    Batch,
    Scheme,
    State,
    TrainInfo,
    group_objective_weights,
    mean_one_over_train,
)

_PAPER_FAIRSEG = ("Tian et al., FairSeg: A Large-Scale Medical Image Segmentation Dataset for "
                  "Fairness Learning Using Segment Anything Model with Fair Error-Bound "
                  "Scaling, ICLR 2024; Luo et al., Harvard Eye Fairness / FairVision: Fair "
                  "Identity Scaling, 2024")


def reweighing_table(y: torch.Tensor, g: torch.Tensor, n_groups: int,
                     n_classes: int) -> torch.Tensor:
    """(G, C) table P(g) P(y) / P(g, y) = n_g n_y / (N n_gy), mean 1 over the training set
    (already so when no cell is empty); empty cells get 0."""
    N = y.numel()
    joint = torch.zeros(n_groups, n_classes, dtype=torch.float64, device=y.device)
    joint.index_put_((g.long(), y.long()), torch.ones(N, dtype=torch.float64, device=y.device),
                     accumulate=True)
    n_g, n_y = joint.sum(1, keepdim=True), joint.sum(0, keepdim=True)
    table = torch.where(joint > 0, n_g * n_y / (N * joint.clamp_min(1)), 0.0)
    return mean_one_over_train(table, joint).to(torch.float32)


@SCHEMES.register("fairness_reweighing")
@dataclass(frozen=True)
class FairnessReweighing(Scheme):
    """Reweighing (Kamiran and Calders 2012; AIF360): w = P(g) P(y) / P(g, y).

    Each (group, label) cell is weighted by the ratio of its expected probability, were
    group and label independent, to its observed probability, both from the training set.
    In the weighted training set the label is independent of the group (the "discrimination"
    of the data is removed) while each group's and each label's total weight is kept.
    Fixed weights, as AIF360's instance weights: one per sample, mean 1 over the training
    set (true of the formula itself when every (group, label) cell is non-empty, since
    sum over cells of n_g n_y / N = N; with empty cells the table is rescaled to mean 1),
    never rescaled per batch. Our choices: cells with no training sample get weight 0 (no
    sample looks them up); AIF360 handles one binary protected attribute and a binary
    label, this generalises the same formula to G groups and C classes; classification
    only.

    Example:
        >>> FairnessReweighing().params()
        {}
    """

    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    needs_groups: ClassVar[bool] = True
    uniform_on_equal_losses: ClassVar[bool] = False  # weights follow (group, label) cells
    normalisation: ClassVar[str] = "fixed"
    paper: ClassVar[str] = ("Kamiran and Calders, Data preprocessing techniques for "
                            "classification without discrimination, KAIS 2012; AIF360 Reweighing")
    formula: ClassVar[str] = r"w_i = \frac{P(g = g_i)\,P(y = y_i)}{P(g = g_i, y = y_i)}"

    def init_state(self, info: TrainInfo) -> State:
        check(info.task == "classification",
              f"fairness_reweighing needs a classification task, got {info.task!r}")
        return {"table": reweighing_table(info.y, info.g, info.n_groups, info.n_classes)}

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        table = state["table"].to(losses.device)
        return table[batch.g.long(), batch.y.long()].detach()


def group_quantiles(losses: torch.Tensor, g: torch.Tensor, n_groups: int,
                    q: float) -> torch.Tensor:
    """(G,) q-quantile (linear interpolation) of each group's losses; NaN for absent groups."""
    member = g.long().unsqueeze(0) == torch.arange(n_groups, device=g.device).unsqueeze(1)
    table = torch.where(member, losses.unsqueeze(0), float("nan"))
    return torch.nanquantile(table, q, dim=1)


@SCHEMES.register("fair_error_bound")
@dataclass(frozen=True)
class FairErrorBound(Scheme):
    """Fair error-bound scaling (Harvard-FairSeg, Tian et al. 2024) with identity scaling.

    Each group's "upper error bound" is tracked as an EMA of a high quantile of its batch
    losses; groups that are harder get proportionally more weight, and c mixes in
    per-sample loss scaling (the "fair identity scaling" of Luo et al. 2024). Our reading
    of the papers, the exact formula: per step, for each group g present in the batch,
    u_g = quantile_q(losses of g in the batch) and
    bound_g <- momentum * bound_g + (1 - momentum) * u_g (the first time g is seen,
    bound_g <- u_g); groups never seen yet take the mean bound of the seen groups. Then
    q_g = bound_g / sum_h(bound_h) (the bounds normalised over the G groups) and the
    objective is (1 - c) sum_g q_g lbar_g + c mean_i(l_i / mean_j(l_j) * l_i), the group
    objective over the groups present in the batch plus per-sample loss scaling: as
    weights, w_i = (1 - c) q_{g_i} B / m_{g_i} + c l_i / mean_j(l_j), with m_g the batch
    count of group g; not rescaled per batch. c = 0 is pure group scaling, c = 1 pure
    per-sample loss scaling. All-zero bounds give q uniform, all-zero losses 1 for the
    sample part. State: ``bound`` (G,) (recorded every step) and ``seen`` (G,) 0/1.

    Example:
        >>> FairErrorBound(c=0.0).params()
        {'quantile': 0.9, 'momentum': 0.9, 'c': 0.0}
    """

    needs_groups: ClassVar[bool] = True
    recorded_state: ClassVar[tuple[str, ...]] = ("bound",)
    uniform_on_equal_losses: ClassVar[bool] = False  # the bounds remember earlier batches
    normalisation: ClassVar[str] = "group"
    paper: ClassVar[str] = _PAPER_FAIRSEG
    formula: ClassVar[str] = (r"b_g \leftarrow m b_g + (1-m)\,Q_q(l_{g}),\quad "
                              r"w_i = (1-c)\,\frac{b_{g_i}}{\sum_h b_h}\frac{B}{m_{g_i}}"
                              r" + c\,\frac{l_i}{\bar l}")
    quantile: float = param(0.9, low=0, high=1,
                            help="Quantile of each group's batch losses that tracks its upper "
                                 "error bound.")
    momentum: float = param(0.9, low=0, high=1, closed="left",
                            help="EMA momentum m of the group bounds: b <- m b + (1 - m) Q.")
    c: float = param(0.5, low=0, high=1,
                     help="Mix of the per-sample term: (1 - c) group bound + c l_i / mean l.")

    def init_state(self, info: TrainInfo) -> State:
        check(info.n_groups >= 1, f"fair_error_bound needs at least one group, got "
                                  f"{info.n_groups}")
        zeros = torch.zeros(info.n_groups, device=info.g.device)
        return {"bound": zeros, "seen": zeros.clone()}

    def update(self, losses: torch.Tensor, batch: Batch, state: State, info: TrainInfo) -> State:
        bound, seen = state["bound"], state["seen"]
        losses = losses.detach().to(bound.device, bound.dtype)
        if not torch.isfinite(losses).all():
            return dict(state)
        u = group_quantiles(losses, batch.g.to(bound.device), bound.numel(), self.quantile)
        present = ~torch.isnan(u)
        ema = torch.where(seen > 0, self.momentum * bound + (1 - self.momentum) * u, u)
        return {**state, "bound": torch.where(present, ema, bound),
                "seen": torch.where(present, torch.ones_like(seen), seen)}

    def group_scale(self, state: State) -> torch.Tensor:
        """(G,) s_g = bound_g / mean bound, unseen groups at 1; all-zero bounds: ones."""
        bound, seen = state["bound"], state["seen"] > 0
        if not seen.any():
            return torch.ones_like(bound)
        mean_seen = bound[seen].mean()
        if mean_seen <= 0:
            return torch.ones_like(bound)
        return torch.where(seen, bound / mean_seen, torch.ones_like(bound))

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        losses = losses.detach()
        scale = self.group_scale(state)
        group_part = group_objective_weights(scale / scale.sum(), batch, losses)
        mean_l = losses.mean()
        if torch.isfinite(mean_l) and mean_l > 0:
            sample_part = losses / mean_l
        else:
            sample_part = torch.ones_like(losses)
        return ((1 - self.c) * group_part + self.c * sample_part).detach()
