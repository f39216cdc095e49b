"""Deferred re-weighting (DRW, Cao et al., NeurIPS 2019): uniform, then class-balanced.

Why: re-weighting from the first epoch hurts the features a network learns from the head
classes; Cao et al. train with uniform weights until a late epoch (160 of 200 in their
CIFAR-LT recipe, after which the learning rate also decays) and only then switch to
class-balanced weights, the effective-number weights of Cui et al. (CVPR 2019) with
beta = 0.9999. DRW with plain cross-entropy is their "ERM-DRW" / "CE-DRW" baseline; with
the LDAM loss it is LDAM-DRW.

Weights: 1 for every sample before ``start_epoch`` (counting epochs from 0, so the paper's
switch "at epoch 160" of 1..200 is ``start_epoch=160``), then the class table
(1 - beta) / (1 - beta^n_c) looked up at the labels. Our choice (``normalisation =
"fixed"``, as ``effective_number``): the table is scaled to mean 1 over the training set
and never rescaled per batch. Cao et al.'s code instead passes the table, scaled to sum to
C over classes, as ``weight=`` to ``nn.CrossEntropyLoss``, whose mean divides each batch by
its own weight sum (a per-batch normalisation).

Example:
    >>> import torch
    >>> from workbench.schemes.base import Batch, TrainInfo
    >>> y = torch.tensor([0, 0, 0, 1])
    >>> info = TrainInfo(task="classification", y=y, g=torch.zeros(4).long(), n_classes=2,
    ...                  n_groups=1, total_steps=8, steps_per_epoch=2)
    >>> drw = DRW(start_epoch=2, beta=0.9)
    >>> state = drw.init_state(info)
    >>> def at(step):
    ...     b = Batch(idx=torch.arange(4), y=y, g=torch.zeros(4).long(),
    ...               outputs=torch.zeros(4, 2), step=step, n_groups=1, n_classes=2)
    ...     return drw.weights(torch.ones(4), b, state, info).tolist()
    >>> at(3), [round(w, 4) for w in at(4)]
    ([1.0, 1.0, 1.0, 1.0], [0.7005, 0.7005, 0.7005, 1.8984])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..params import param
from .base import SCHEMES, Batch, Scheme, State, TrainInfo, mean_one_over_train
from .static import EffectiveNumber, train_counts


@SCHEMES.register("drw")
@dataclass(frozen=True)
class DRW(Scheme):
    """Deferred re-weighting (Cao et al., NeurIPS 2019): uniform weights until
    ``start_epoch``, then fixed class-balanced weights (1 - beta) / (1 - beta^n_c).

    The LDAM-DRW paper's CIFAR-LT recipe switches at epoch 160 of 200 with beta = 0.9999
    (the defaults). Fixed weights, mean 1 over the training set in both phases.

    Example:
        >>> DRW().params()
        {'start_epoch': 160, 'beta': 0.9999}
    """

    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    uniform_on_equal_losses: ClassVar[bool] = False  # after the switch: by label
    normalisation: ClassVar[str] = "fixed"
    paper: ClassVar[str] = ("Cao, Wei, Gaidon, Arechiga and Ma, Learning Imbalanced Datasets "
                            "with Label-Distribution-Aware Margin Loss, NeurIPS 2019 (DRW); "
                            "weights of Cui et al., CVPR 2019")
    formula: ClassVar[str] = (r"w_i = 1 \text{ before epoch } E,\quad w_i \propto "
                              r"\frac{1 - \beta}{1 - \beta^{n_{y_i}}} \text{ from epoch } E")
    start_epoch: int = param(160, low=0, high=10_000,
                             help="Epoch (from 0) at which the class-balanced weights start; "
                                  "before it every weight is 1 (Cao et al.: 160 of 200).")
    beta: float = param(0.9999, low=0, high=1, closed="left",
                        help="Effective-number beta of the class weights (Cao et al.: 0.9999).")

    def init_state(self, info: TrainInfo) -> State:
        counts, _ = train_counts(self.name, "class", info)
        table = EffectiveNumber(beta=self.beta).table(counts)
        return {"table": mean_one_over_train(table, counts)}

    def weights(self, losses: torch.Tensor, batch: Batch, state: State,
                info: TrainInfo) -> torch.Tensor:
        if batch.step // max(info.steps_per_epoch, 1) < self.start_epoch:
            return torch.ones_like(losses)
        table = state["table"].to(losses.device, losses.dtype)
        return table[batch.y.long().to(losses.device)].detach()
