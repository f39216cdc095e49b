"""Group DRO (Sagawa et al., ICLR 2020).

Online group distributionally robust optimisation: a distribution q over groups is moved
towards the groups with the highest loss by exponentiated-gradient ascent, and the model
minimises sum_g q_g lbar_g. Following WILDS, the *update* of q (``update``) is kept apart
from the *objective* (``weights``): the engine calls ``update`` first, then ``weights``.

Example:
    >>> import torch
    >>> from workbench.schemes.base import TrainInfo
    >>> info = TrainInfo(task="classification", y=torch.zeros(4).long(),
    ...                  g=torch.tensor([0, 0, 1, 2]), n_classes=1, n_groups=3, total_steps=10)
    >>> GroupDRO().init_state(info)["q"]
    tensor([0.3333, 0.3333, 0.3333])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..params import param
from ..registry import check
from .base import SCHEMES, Batch, Scheme, State, TrainInfo, counts_in, group_objective_weights
from .float32 import HUGE


@SCHEMES.register("group_dro")
@dataclass(frozen=True)
class GroupDRO(Scheme):
    """Group DRO (Sagawa et al. 2020): minimise the q-weighted group losses, q chasing the worst.

    State ``{"q": (G,)}``, uniform at the start. ``update``: for each group present in the
    batch, q_g <- q_g exp(eta * (lbar_g + adjustment / sqrt(n_g))) with lbar_g its mean
    batch loss and n_g its training count; absent groups keep q_g; then q is renormalised
    to sum 1 (in log-space, so it stays finite). ``weights``: w_i = q_{g_i} B / m_{g_i}
    (m_g = count of g in the batch), so mean(w l) = sum_g q_g lbar_g over the groups present
    (the authors' ``group_loss @ adv_probs``, whose absent groups have loss 0); the weights
    are not rescaled per batch, so a batch missing a group has mean weight below 1. Defaults:
    eta = 0.01, adjustment C = 0 (the generalisation adjustment
    C / sqrt(n_g) enters only the q update, as in the authors' code).
    Our choices: absent groups are not updated (the authors' code adds the adjustment to
    them too); q covers all G groups, including groups empty in the training set; a group
    whose batch loss is non-finite is not updated at that step (the engine stops such a run
    as diverged anyway); q_g is clamped at the smallest normal float (1.2e-38 in float32)
    after each update. Without the clamp a large eta underflows q_g to exactly 0, where it
    stays (log 0 = -inf), and a batch holding only group g would get weights 0 / 0. The
    clamp changes q only where the authors' float32 q is below 1.2e-38.

    Example:
        >>> GroupDRO(eta=0.1, adjustment=1.0).params()
        {'eta': 0.1, 'adjustment': 1.0}
    """

    needs_groups: ClassVar[bool] = True
    recorded_state: ClassVar[tuple[str, ...]] = ("q",)  # the app plots q over steps
    uniform_on_equal_losses: ClassVar[bool] = False  # weights follow group sizes in the batch
    normalisation: ClassVar[str] = "group"
    paper: ClassVar[str] = ("Sagawa et al., Distributionally Robust Neural Networks for Group "
                            "Shifts, ICLR 2020")
    formula: ClassVar[str] = (r"q_g \leftarrow \frac{q_g e^{\eta \bar l_g}}{\sum_h q_h "
                              r"e^{\eta \bar l_h}},\quad w_i = q_{g_i} \frac{B}{m_{g_i}}")
    eta: float = param(0.01, low=0, typical=(0.0, 1.0, 0.01),
                       float32=(0.0, HUGE, "q is updated in float32"),
                       help="Step size of the exponentiated-gradient ascent on the group "
                            "weights q.")
    adjustment: float = param(0.0, low=0,
                              float32=(0.0, HUGE, "q is updated in float32"),
                              help="Generalisation adjustment C: adds C / sqrt(n_g) to group "
                                   "g's loss in the q update.")

    def init_state(self, info: TrainInfo) -> State:
        check(info.n_groups >= 1, f"group_dro needs at least one group, got {info.n_groups}")
        return {"q": torch.full((info.n_groups,), 1.0 / info.n_groups, device=info.g.device)}

    def update(self, losses: torch.Tensor, batch: Batch, state: State, info: TrainInfo) -> State:
        # about ten whole-vector ops and no .to() round trips: this runs every step, and
        # issue 5 gives a dynamic scheme 10% of a step's time
        q = state["q"]
        if losses.dtype != q.dtype:
            losses = losses.to(q.dtype)
        g = batch.g if batch.g.dtype == torch.long else batch.g.long()
        # per-group mean batch loss; absent groups: 0 / 0, set to 0 below (q keeps its log)
        step = torch.zeros_like(q).index_add_(0, g, losses).div_(counts_in(batch, q))
        if self.adjustment:
            step = step + self.adjustment / info.group_counts.to(q).clamp_min(1).sqrt()
        # absent groups, and a group with a non-finite batch loss, are not updated
        step = step.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
        # eta l can overflow float32 for finite eta and l: the largest float keeps softmax
        # finite and still puts all of q on that group
        q = torch.log(q).add_(step, alpha=self.eta).clamp_(max=HUGE).softmax(0)
        # a q_g that underflows to 0 would stay 0 for good (log 0 = -inf) and leave a batch
        # of only group g with no weight at all: keep q_g >= the smallest normal float
        return {**state, "q": q.clamp_min_(torch.finfo(q.dtype).tiny)}

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        # w_i = q_g B / m_g: mean(w l) = sum_g q_g lbar_g over the groups in the batch, the
        # authors' ``group_loss @ adv_probs`` (absent groups contribute 0); q >= 1.18e-38
        return group_objective_weights(state["q"], batch, losses)
